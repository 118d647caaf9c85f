using Dapper;
using Npgsql;
using Ops.Modules.Usage.Contracts;
using Ops.Modules.Usage.Reading;

namespace Ops.Modules.Usage.Budgets;

/// <summary>A stored budget.</summary>
internal sealed record Budget(BudgetScope Scope, string Id, BudgetPeriod Period, decimal LimitUsd, decimal WarningPct, DateTimeOffset UpdatedAt, string UpdatedBy);

/// <summary>
/// Budgets (table <c>usage.budgets</c>) and their status. A status's current cost is summed from the rollups for the
/// budget's current period: tenant budgets from <c>daily_model_rollup</c>, agent budgets from <c>daily_rollup</c>, user budgets from <c>usage_daily</c>
/// (ADR 0020), so it trails ingestion by the fold interval (about a second).
/// </summary>
internal sealed class BudgetStore(NpgsqlDataSource dataSource, TimeProvider time) : IUsageBudgets
{
    private const string Columns = "scope, entity_id, period, limit_usd, warning_pct, updated_at, updated_by";

    public async Task<IReadOnlyList<Budget>> ListAsync(string tenantId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<BudgetRow>(new CommandDefinition(
            $"SELECT {Columns} FROM usage.budgets WHERE tenant_id = @tenantId ORDER BY scope, entity_id, period",
            new { tenantId },
            cancellationToken: cancellationToken));
        return rows.Select(r => r.ToBudget()).ToList();
    }

    /// <summary>The budgets of one entity (both periods), locked until the transaction ends.</summary>
    public static async Task<IReadOnlyList<Budget>> ReadForUpdateAsync(
        string tenantId, BudgetScope scope, string id, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var rows = await connection.QueryAsync<BudgetRow>(new CommandDefinition(
            $"SELECT {Columns} FROM usage.budgets WHERE tenant_id = @tenantId AND scope = @scope AND entity_id = @id ORDER BY period FOR UPDATE",
            new { tenantId, scope = BudgetWire.Name(scope), id },
            transaction,
            cancellationToken: cancellationToken));
        return rows.Select(r => r.ToBudget()).ToList();
    }

    public static async Task<Budget> UpsertAsync(string tenantId, Budget budget, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var row = await connection.QuerySingleAsync<BudgetRow>(new CommandDefinition(
            $"""
            INSERT INTO usage.budgets (tenant_id, scope, entity_id, period, limit_usd, warning_pct, updated_at, updated_by)
            VALUES (@tenantId, @scope, @id, @period, @limit, @warning, @at, @by)
            ON CONFLICT (tenant_id, scope, entity_id, period) DO UPDATE SET
                limit_usd = excluded.limit_usd, warning_pct = excluded.warning_pct, updated_at = excluded.updated_at, updated_by = excluded.updated_by
            RETURNING {Columns}
            """,
            new
            {
                tenantId,
                scope = BudgetWire.Name(budget.Scope),
                id = budget.Id,
                period = BudgetWire.Name(budget.Period),
                limit = budget.LimitUsd,
                warning = budget.WarningPct,
                at = budget.UpdatedAt,
                by = budget.UpdatedBy,
            },
            transaction,
            cancellationToken: cancellationToken));
        return row.ToBudget();
    }

    /// <summary>Deletes an entity's budget of one period (or both when null); returns what was deleted.</summary>
    public static async Task<IReadOnlyList<Budget>> DeleteAsync(
        string tenantId, BudgetScope scope, string id, BudgetPeriod? period, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var rows = await connection.QueryAsync<BudgetRow>(new CommandDefinition(
            $"""
            DELETE FROM usage.budgets
            WHERE tenant_id = @tenantId AND scope = @scope AND entity_id = @id AND (@period::text IS NULL OR period = @period::text)
            RETURNING {Columns}
            """,
            new { tenantId, scope = BudgetWire.Name(scope), id, period = period is { } p ? BudgetWire.Name(p) : null },
            transaction,
            cancellationToken: cancellationToken));
        return rows.Select(r => r.ToBudget()).OrderBy(b => b.Period).ToList();
    }

    public async Task<IReadOnlyList<BudgetStatus>> GetStatusAsync(string tenantId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await StatusAsync(connection, tenantId, time.GetUtcNow(), cancellationToken);
    }

    /// <summary>Every budget's status at <paramref name="now"/>, one query: each budget sums its own period of its own rollup.</summary>
    public static async Task<IReadOnlyList<BudgetStatus>> StatusAsync(NpgsqlConnection connection, string tenantId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var today = UtcPeriods.Day(now);
        var monthStart = UtcPeriods.MonthStart(today);
        var rows = await connection.QueryAsync<StatusRow>(new CommandDefinition(
            $"""
            SELECT b.{Columns.Replace(", ", ", b.", StringComparison.Ordinal)}, p.period_start, p.period_end,
                   CASE b.scope
                       WHEN 'tenant' THEN (SELECT coalesce(sum(r.cost_usd), 0) FROM usage.daily_model_rollup r
                                           WHERE r.tenant_id = b.tenant_id AND r.day >= p.period_start AND r.day < p.period_end)
                       WHEN 'agent' THEN (SELECT coalesce(sum(r.cost_usd), 0) FROM usage.daily_rollup r
                                          WHERE r.tenant_id = b.tenant_id AND r.day >= p.period_start AND r.day < p.period_end AND r.agent_id = b.entity_id)
                       ELSE (SELECT coalesce(sum(u.cost_usd), 0) FROM usage.usage_daily u
                             WHERE u.tenant_id = b.tenant_id AND u.user_id = b.entity_id AND u.day >= p.period_start AND u.day < p.period_end)
                   END AS current_cost_usd
            FROM usage.budgets b
            CROSS JOIN LATERAL (
                SELECT CASE b.period WHEN 'day' THEN @today ELSE @monthStart END AS period_start,
                       CASE b.period WHEN 'day' THEN @tomorrow ELSE @nextMonth END AS period_end
            ) p
            WHERE b.tenant_id = @tenantId
            ORDER BY b.scope, b.entity_id, b.period
            """,
            new { tenantId, today, tomorrow = today.AddDays(1), monthStart, nextMonth = monthStart.AddMonths(1) },
            cancellationToken: cancellationToken));
        return rows.Select(r => r.ToStatus()).ToList();
    }

    /// <summary>This month's cost of the tenant and of each agent active this month (for entities without a budget).</summary>
    public static async Task<(decimal TenantCostUsd, IReadOnlyList<(string AgentId, decimal CostUsd)> Agents)> MonthSpendAsync(
        NpgsqlConnection connection, string tenantId, DateOnly monthStart, CancellationToken cancellationToken)
    {
        var rows = (await connection.QueryAsync<(string AgentId, decimal CostUsd)>(new CommandDefinition(
            """
            SELECT agent_id, sum(cost_usd) FROM usage.daily_rollup
            WHERE tenant_id = @tenantId AND day >= @monthStart AND day < @nextMonth
            GROUP BY agent_id ORDER BY agent_id
            """,
            new { tenantId, monthStart, nextMonth = monthStart.AddMonths(1) },
            cancellationToken: cancellationToken))).ToList();
        return (Money.Normalize(rows.Sum(r => r.CostUsd)),
                rows.Where(r => r.AgentId.Length > 0).Select(r => (r.AgentId, Money.Normalize(r.CostUsd))).ToList());
    }

    private class BudgetRow
    {
        public string Scope { get; init; } = string.Empty;
        public string EntityId { get; init; } = string.Empty;
        public string Period { get; init; } = string.Empty;
        public decimal LimitUsd { get; init; }
        public decimal WarningPct { get; init; }
        public DateTimeOffset UpdatedAt { get; init; }
        public string UpdatedBy { get; init; } = string.Empty;

        public Budget ToBudget() => new(
            BudgetWire.ParseScope(Scope)!.Value, EntityId, BudgetWire.ParsePeriod(Period)!.Value,
            Money.Normalize(LimitUsd), Money.Normalize(WarningPct), UpdatedAt, UpdatedBy);
    }

    private sealed class StatusRow : BudgetRow
    {
        public DateOnly PeriodStart { get; init; }
        public DateOnly PeriodEnd { get; init; }
        public decimal CurrentCostUsd { get; init; }

        public BudgetStatus ToStatus()
        {
            var budget = ToBudget();
            var current = Money.Normalize(CurrentCostUsd);
            return new BudgetStatus(
                budget.Scope, budget.Id, budget.Period, PeriodStart, PeriodEnd, budget.LimitUsd, budget.WarningPct, current,
                Money.Percent(current, budget.LimitUsd)!.Value, BudgetWire.StateOf(current, budget.LimitUsd, budget.WarningPct));
        }
    }
}
