using Ops.Modules.Usage.Contracts;

namespace Ops.Modules.Usage.Budgets;

/// <summary>The wire and storage names of the budget enums (the JSON converter writes the same snake_case names).</summary>
internal static class BudgetWire
{
    public static string Name(BudgetScope scope) => scope switch
    {
        BudgetScope.Tenant => "tenant",
        BudgetScope.Agent => "agent",
        BudgetScope.User => "user",
        _ => throw new ArgumentOutOfRangeException(nameof(scope), scope, null),
    };

    public static string Name(BudgetPeriod period) => period switch
    {
        BudgetPeriod.Day => "day",
        BudgetPeriod.Month => "month",
        _ => throw new ArgumentOutOfRangeException(nameof(period), period, null),
    };

    public static BudgetScope? ParseScope(string? value) => value switch
    {
        "tenant" => BudgetScope.Tenant,
        "agent" => BudgetScope.Agent,
        "user" => BudgetScope.User,
        _ => null,
    };

    public static BudgetPeriod? ParsePeriod(string? value) => value switch
    {
        "day" => BudgetPeriod.Day,
        "month" => BudgetPeriod.Month,
        _ => null,
    };

    /// <summary>The state of a spend against a limit: exceeded at ≥ 100 %, warning at ≥ the warning percentage (exact, before rounding).</summary>
    public static BudgetState StateOf(decimal currentUsd, decimal limitUsd, decimal warningPct) =>
        currentUsd >= limitUsd ? BudgetState.Exceeded
        : currentUsd * 100m >= warningPct * limitUsd ? BudgetState.Warning
        : BudgetState.Ok;
}
