using Ops.Modules.Usage.Budgets;
using Ops.Modules.Usage.Contracts;

namespace Ops.Modules.Usage.Features;

/// <summary>A budget as the API shows it.</summary>
internal sealed record BudgetDto(BudgetScope Scope, string Id, BudgetPeriod Period, decimal LimitUsd, decimal WarningPct, DateTimeOffset UpdatedAt, string UpdatedBy)
{
    public static BudgetDto From(Budget b) => new(b.Scope, b.Id, b.Period, b.LimitUsd, b.WarningPct, b.UpdatedAt, b.UpdatedBy);
}

internal sealed record BudgetListResponse(IReadOnlyList<BudgetDto> Items);
