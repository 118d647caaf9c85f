using Dapper;
using Npgsql;
using Ops.Modules.Usage.Contracts;

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
/// <see cref="IUsageSignals"/> (ADR 0020's card plan): cost and p95 today/yesterday from <c>daily_rollup</c>, the 24-hour
/// counts from <c>hourly_rollup</c> (hour-aligned, the current hour included), DAU from <c>daily_active_users</c>, the
/// daily budget from <c>budgets</c>: one round trip of small index scans. The signals' latency window (minutes, for the
/// Alerts rules) is read exactly from raw events instead: an hour-aligned window would stretch "the last 15 minutes"
/// to up to an hour, and a short window of raw events is a small range scan of (tenant_id, ts).
/// </summary>
internal sealed class UsageCards(NpgsqlDataSource dataSource, TimeProvider time) : IUsageSignals
{
    private static readonly string Sql = $"""
        SELECT coalesce(sum(cost_usd) FILTER (WHERE day = @today), 0) AS today, coalesce(sum(cost_usd) FILTER (WHERE day = @yesterday), 0) AS yesterday
        FROM usage.daily_rollup WHERE tenant_id = @tenant AND day >= @yesterday AND day <= @today;

        WITH d AS (SELECT @today - day AS ago, latency_sketch, ttft_sketch FROM usage.daily_rollup WHERE tenant_id = @tenant AND day >= @yesterday AND day <= @today)
        SELECT 0 AS kind, key, p95 FROM ({SketchSql.P95("d", "s.ago", "latency_sketch")}) l
        UNION ALL
        SELECT 1, key, p95 FROM ({SketchSql.P95("d", "s.ago", "ttft_sketch")}) t;

        SELECT coalesce(sum(errors), 0)::bigint AS errors, coalesce(sum(critical_errors), 0)::bigint AS critical,
               coalesce(sum(unpriced_requests), 0)::bigint AS unpriced, coalesce(sum(feedback_up), 0)::bigint AS up,
               coalesce(sum(feedback_down), 0)::bigint AS down
        FROM usage.hourly_rollup WHERE tenant_id = @tenant AND hour >= @dayAgo AND hour < @hourEnd;

        SELECT @today - day AS ago, count(*) AS users FROM usage.daily_active_users
        WHERE tenant_id = @tenant AND day >= @threeDaysAgo AND day <= @today GROUP BY day;

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
        var dayP95 = (await results.ReadAsync<(int Kind, int Ago, double P95)>()).ToList();
        var counts = await results.ReadSingleAsync<(long Errors, long Critical, long Unpriced, long Up, long Down)>();
        var dau = (await results.ReadAsync<(int Ago, long Users)>()).ToDictionary(r => r.Ago, r => r.Users);
        var budgets = (await results.ReadAsync<(string Period, decimal LimitUsd)>()).ToDictionary(r => r.Period, r => r.LimitUsd, StringComparer.Ordinal);

        double? P95Of(int kind, int ago) => dayP95.Where(r => r.Kind == kind && r.Ago == ago).Select(r => (double?)r.P95).FirstOrDefault();

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
            P95Of(0, 0),
            P95Of(0, 1),
            P95Of(1, 0),
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

    /// <summary>The tenant's day budget; else its month budget spread evenly over the month's days; else none.</summary>
    private static decimal? DailyBudget(Dictionary<string, decimal> tenantBudgets, DateOnly today) =>
        tenantBudgets.TryGetValue("day", out var day) ? Money.Normalize(day)
        : tenantBudgets.TryGetValue("month", out var month) ? Money.Normalize(decimal.Round(month / UtcPeriods.DaysInMonth(today), 6, MidpointRounding.AwayFromZero))
        : null;
}
