using Npgsql;
using Ops.Modules.Usage.Budgets;
using Ops.Modules.Usage.Contracts;
using Ops.Modules.Usage.Reading;

namespace Ops.Modules.Usage.Features.GetUsageByAgent;

/// <param name="AgentId">null for calls made without an agent.</param>
/// <param name="BudgetStatus">For the agent's budget's own current period (the most used of its day and month budgets); no_limit without one.</param>
internal sealed record AgentUsage(
    string? AgentId,
    long TokensIn,
    long TokensOut,
    long TotalTokens,
    decimal CostUsd,
    long LlmCallCount,
    decimal? BudgetLimitUsd,
    BudgetPeriod? BudgetPeriod,
    decimal? BudgetUsedPct,
    BudgetState BudgetStatus);

/// <summary>The payroll view: what each agent consumed in the period, next to its budget.</summary>
internal sealed class GetUsageByAgentEndpoint(BreakdownReader reader, NpgsqlDataSource dataSource, TimeProvider time)
    : UsageReadEndpoint<UsageQueryRequest, ItemsResponse<AgentUsage>>(time)
{
    public override void Configure() => Route(
        "/v1/usage/by-agent",
        "Usage per agent (the payroll view), with budget status",
        "Tokens, cost and LLM calls per agent for the period, cost descending; budget_* describe the agent's budget for its own current "
        + "period (UTC day or month), whatever the period asked.");

    public override async Task HandleAsync(UsageQueryRequest req, CancellationToken ct)
    {
        var query = Resolve(req);
        var groups = await reader.GroupAsync(query, BreakdownReader.Dimension.Agent, null, ct);
        IReadOnlyList<BudgetStatus> statuses;
        await using (var connection = await dataSource.OpenConnectionAsync(ct))
        {
            statuses = await BudgetStore.StatusAsync(connection, query.TenantId, Clock.GetUtcNow(), ct);
        }

        var budgets = statuses.Where(s => s.Scope == BudgetScope.Agent)
            .GroupBy(s => s.Id, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderByDescending(s => s.Percent).First(), StringComparer.Ordinal);
        var items = groups.Select(g =>
        {
            var budget = g.Key.Length == 0 ? null : budgets.GetValueOrDefault(g.Key);
            return new AgentUsage(
                g.Key.Length == 0 ? null : g.Key, g.TokensIn, g.TokensOut, g.Tokens, g.Cost, g.Requests,
                budget?.LimitUsd, budget?.Period, budget?.Percent, budget?.State ?? BudgetState.NoLimit);
        }).ToList();
        await Send.OkAsync(new ItemsResponse<AgentUsage>(PeriodDto.Of(query.Window), items), ct);
    }
}
