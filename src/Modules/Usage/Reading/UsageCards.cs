using Dapper;
using Npgsql;
using Ops.Modules.Usage.Contracts;
using Ops.Modules.Usage.Sketches;

namespace Ops.Modules.Usage.Reading;

/// <summary>The figures behind the dashboard's cards and the Alerts signals, all from the rollups.</summary>
/// <param name="Dau">Distinct active users: [today, yesterday, 2 days ago, 3 days ago].</param>
internal sealed record CardFigures(
    DateTimeOffset AsOf,
    DateOnly Day,
    decimal CostTodayUsd,
    decimal CostYesterdayUsd,
    decimal? DailyBudgetUsd,
    long Errors24h,
    long CriticalErrors24h,
    long UnpricedEvents24h,
    long FeedbackUp24h,
    long FeedbackDown24h,
    double? LatencyP95TodayMs,
    double? LatencyP95YesterdayMs,
    double? TtftP95TodayMs,
    IReadOnlyList<long> Dau);

/// <summary>
/// One implementation of "how is the tenant doing right now" for <c>GET /v1/dashboard/stats</c>, the stream and
/// <see cref="IUsageSignals"/> (ADR 0020's card plan, ADR 0027's small rollups): cost and p95 today/yesterday from
/// <c>daily_model_rollup</c>, the 24-hour counts from <c>hourly_model_rollup</c> (hour-aligned, the current hour
/// included), DAU from <c>daily_counts</c>, the daily budget from <c>budgets</c>: one round trip of a few dozen rows;
/// the p95s merge the day rows' sketches here, as the metrics do. The signals' latency window (minutes, for the
/// Alerts rules) is read exactly from raw events instead: an hour-aligned window would stretch "the last 15 minutes"
/// to up to an hour, and a short window of raw events is a small range scan of (tenant_id, ts).
/// </summary>
internal sealed class UsageCards(NpgsqlDataSource dataSource, TimeProvider time) : IUsageSignals
{
    private const string Sql = """
        SELECT coalesce(sum(cost_usd) FILTER (WHERE day = @today), 0) AS today, coalesce(sum(cost_usd) FILTER (WHERE day = @yesterday), 0) AS yesterday
        FROM usage.daily_model_rollup WHERE tenant_id = @tenant AND day >= @yesterday AND day <= @today;

        SELECT @today - day AS ago, latency_sketch, ttft_sketch FROM usage.daily_model_rollup
        WHERE tenant_id = @tenant AND day >= @yesterday AND day <= @today;

        SELECT coalesce(sum(errors), 0)::bigint AS errors, coalesce(sum(critical_errors), 0)::bigint AS critical,
               coalesce(sum(unpriced_requests), 0)::bigint AS unpriced, coalesce(sum(feedback_up), 0)::bigint AS up,
               coalesce(sum(feedback_down), 0)::bigint AS down
        FROM usage.hourly_model_rollup WHERE tenant_id = @tenant AND hour >= @dayAgo AND hour < @hourEnd;

        SELECT @today - day AS ago, active_users AS users FROM usage.daily_counts
        WHERE tenant_id = @tenant AND day >= @threeDaysAgo AND day <= @today;

        SELECT period, limit_usd FROM usage.budgets WHERE tenant_id = @tenant AND scope = 'tenant' AND entity_id = @tenant;
        """;

    /// <summary>Percentile_cont over the raw events of (from, to]; nulls are not samples.</summary>
    private const string WindowSql = """
        SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS latency_p95, count(latency_ms) AS latency_samples,
               percentile_cont(0.95) WITHIN GROUP (ORDER BY ttft_ms) AS ttft_p95, count(ttft_ms) AS ttft_samples
        FROM usage.events WHERE tenant_id = @tenant AND ts > @from AND ts <= @to
        """;

    public Task<CardFigures> ReadAsync(string tenantId, CancellationToken cancellationToken) =>
        ReadAsync(tenantId, time.GetUtcNow(), cancellationToken);

    public async Task<CardFigures> ReadAsync(string tenantId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var today = UtcPeriods.Day(now);
        var hourEnd = UtcPeriods.HourStart(now).AddHours(1);
        // Whole hours ending with the current one: 24 h = the current hour and the 23 before it.
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var results = await connection.QueryMultipleAsync(new CommandDefinition(
            Sql,
            new
            {
                tenant = tenantId,
                today,
                yesterday = today.AddDays(-1),
                threeDaysAgo = today.AddDays(-3),
                hourEnd,
                dayAgo = hourEnd.AddHours(-24),
            },
            cancellationToken: cancellationToken));

        var cost = await results.ReadSingleAsync<(decimal Today, decimal Yesterday)>();
        // [ago]: today's and yesterday's sketches, merged over the models.
        LatencySketch[] latency = [new(), new()], ttft = [new(), new()];
        foreach (var row in await results.ReadAsync<DaySketches>())
        {
            latency[row.Ago].Merge(LatencySketch.FromStored(row.LatencySketch));
            ttft[row.Ago].Merge(LatencySketch.FromStored(row.TtftSketch));
        }

        var counts = await results.ReadSingleAsync<(long Errors, long Critical, long Unpriced, long Up, long Down)>();
        var dau = (await results.ReadAsync<(int Ago, long Users)>()).ToDictionary(r => r.Ago, r => r.Users);
        var budgets = (await results.ReadAsync<(string Period, decimal LimitUsd)>()).ToDictionary(r => r.Period, r => r.LimitUsd, StringComparer.Ordinal);

        return new CardFigures(
            now,
            today,
            Money.Normalize(cost.Today),
            Money.Normalize(cost.Yesterday),
            DailyBudget(budgets, today),
            counts.Errors,
            counts.Critical,
            counts.Unpriced,
            counts.Up,
            counts.Down,
            latency[0].Quantile(0.95),
            latency[1].Quantile(0.95),
            ttft[0].Quantile(0.95),
            [.. Enumerable.Range(0, 4).Select(ago => dau.GetValueOrDefault(ago))]);
    }

    public async Task<UsageSignals> GetAsync(string tenantId, TimeSpan latencyWindow, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(latencyWindow, TimeSpan.Zero);
        var now = time.GetUtcNow();
        var f = await ReadAsync(tenantId, now, cancellationToken);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var w = await connection.QuerySingleAsync<(double? LatencyP95, long LatencySamples, double? TtftP95, long TtftSamples)>(new CommandDefinition(
            WindowSql, new { tenant = tenantId, from = now - latencyWindow, to = now }, cancellationToken: cancellationToken));
        return new UsageSignals(
            f.Day, f.CostTodayUsd, f.DailyBudgetUsd, f.Errors24h, f.CriticalErrors24h, w.LatencyP95, w.TtftP95,
            w.LatencySamples, w.TtftSamples, f.FeedbackUp24h, f.FeedbackDown24h, f.Dau, f.UnpricedEvents24h);
    }

    private sealed class DaySketches
    {
        public int Ago { get; init; }
        public object LatencySketch { get; init; } = DBNull.Value;
        public object TtftSketch { get; init; } = DBNull.Value;
    }

    /// <summary>The tenant's day budget; else its month budget spread evenly over the month's days; else none.</summary>
    private static decimal? DailyBudget(Dictionary<string, decimal> tenantBudgets, DateOnly today) =>
        tenantBudgets.TryGetValue("day", out var day) ? Money.Normalize(day)
        : tenantBudgets.TryGetValue("month", out var month) ? Money.Normalize(decimal.Round(month / UtcPeriods.DaysInMonth(today), 6, MidpointRounding.AwayFromZero))
        : null;
}
