using FastEndpoints;
using Npgsql;
using Ops.Modules.Shared.Security;
using Ops.Modules.Usage.Budgets;
using Ops.Modules.Usage.Contracts;
using Ops.Modules.Usage.Reading;

namespace Ops.Modules.Usage.Features.GetBudgetStatus;

/// <summary>One entity's budget status; limit and percent are null for an entity without a budget (status no_limit).</summary>
internal sealed record BudgetStatusItem(
    BudgetScope Scope,
    string Id,
    BudgetPeriod Period,
    DateOnly PeriodStart,
    DateOnly PeriodEnd,
    decimal? LimitUsd,
    decimal? WarningPct,
    decimal CurrentCostUsd,
    decimal? Percent,
    BudgetState Status)
{
    public static BudgetStatusItem From(BudgetStatus s) =>
        new(s.Scope, s.Id, s.Period, s.PeriodStart, s.PeriodEnd, s.LimitUsd, s.WarningPct, s.CurrentCostUsd, s.Percent, s.State);
}

internal sealed record BudgetStatusResponse(IReadOnlyList<BudgetStatusItem> Items);

/// <summary>
/// Every budget's status now, plus the tenant and each agent active this month that has no budget, as
/// <c>no_limit</c> with this month's cost (never a warning).
/// </summary>
internal sealed class GetBudgetStatusEndpoint(NpgsqlDataSource dataSource, TimeProvider time) : EndpointWithoutRequest<BudgetStatusResponse>
{
    public override void Configure()
    {
        Get("/v1/budgets/status");
        Roles(Ops.Modules.Shared.Security.Roles.Read);
        Summary(s =>
        {
            s.Summary = "Budget status per budgeted entity (and no_limit for the others)";
            s.Description = "Status: ok, warning (≥ warning_pct of the limit), exceeded (≥ 100 %), or no_limit for the tenant and agents active "
                            + "this month without a budget. Current cost is for the budget's own current period (UTC day or calendar month).";
        });
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        var tenantId = HttpContext.GetCaller().TenantId;
        var now = time.GetUtcNow();
        var monthStart = UtcPeriods.MonthStart(UtcPeriods.Day(now));
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var statuses = await BudgetStore.StatusAsync(connection, tenantId, now, ct);
        var (tenantCost, agents) = await BudgetStore.MonthSpendAsync(connection, tenantId, monthStart, ct);

        var items = statuses.Select(BudgetStatusItem.From).ToList();
        var budgeted = statuses.Select(s => (s.Scope, s.Id)).ToHashSet();
        BudgetStatusItem NoLimit(BudgetScope scope, string id, decimal cost) =>
            new(scope, id, BudgetPeriod.Month, monthStart, monthStart.AddMonths(1), null, null, cost, null, BudgetState.NoLimit);
        if (!budgeted.Contains((BudgetScope.Tenant, tenantId)))
        {
            items.Add(NoLimit(BudgetScope.Tenant, tenantId, tenantCost));
        }

        items.AddRange(agents.Where(a => !budgeted.Contains((BudgetScope.Agent, a.AgentId))).Select(a => NoLimit(BudgetScope.Agent, a.AgentId, a.CostUsd)));
        await Send.OkAsync(new BudgetStatusResponse(items.OrderBy(i => i.Scope).ThenBy(i => i.Id, StringComparer.Ordinal).ThenBy(i => i.Period).ToList()), ct);
    }
}
