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
    double? LatencyP95WindowMs,
    long LatencySamplesWindow,
    double? TtftP95WindowMs,
    long TtftSamplesWindow,
    IReadOnlyList<long> Dau);

/// <summary>
/// One implementation of "how is the tenant doing right now" for <c>GET /v1/dashboard/stats</c>, the stream and
/// <see cref="IUsageSignals"/> (ADR 0020's card plan): cost and p95 today/yesterday from <c>daily_rollup</c>, the 24-hour
/// counts and the latency window from <c>hourly_rollup</c> (hour-aligned, the current hour included), DAU from
/// <c>daily_active_users</c>, the daily budget from <c>budgets</c>. One round trip of small index scans.
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

        WITH h AS (SELECT 0 AS k, latency_sketch, ttft_sketch FROM usage.hourly_rollup WHERE tenant_id = @tenant AND hour >= @windowFrom AND hour < @hourEnd)
        SELECT 0 AS kind, p95, samples FROM ({SketchSql.P95("h", "s.k", "latency_sketch")}) l
        UNION ALL
        SELECT 1, p95, samples FROM ({SketchSql.P95("h", "s.k", "ttft_sketch")}) t;

        SELECT @today - day AS ago, count(*) AS users FROM usage.daily_active_users
        WHERE tenant_id = @tenant AND day >= @threeDaysAgo AND day <= @today GROUP BY day;

        SELECT period, limit_usd FROM usage.budgets WHERE tenant_id = @tenant AND scope = 'tenant' AND entity_id = @tenant;
        """;

    public Task<CardFigures> ReadAsync(string tenantId, TimeSpan latencyWindow, CancellationToken cancellationToken) =>
        ReadAsync(tenantId, time.GetUtcNow(), latencyWindow, cancellationToken);

    public async Task<CardFigures> ReadAsync(string tenantId, DateTimeOffset now, TimeSpan latencyWindow, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(latencyWindow, TimeSpan.Zero);
        var today = UtcPeriods.Day(now);
        var hourEnd = UtcPeriods.HourStart(now).AddHours(1);
        // Whole hours ending with the current one: 24 h = the current hour and the 23 before it.
        var windowHours = (int)Math.Ceiling(latencyWindow.TotalHours);
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
                windowFrom = hourEnd.AddHours(-windowHours),
            },
            cancellationToken: cancellationToken));

        var cost = await results.ReadSingleAsync<(decimal Today, decimal Yesterday)>();
        var dayP95 = (await results.ReadAsync<(int Kind, int Ago, double P95)>()).ToList();
        var counts = await results.ReadSingleAsync<(long Errors, long Critical, long Unpriced, long Up, long Down)>();
        var window = (await results.ReadAsync<(int Kind, double P95, long Samples)>()).ToList();
        var dau = (await results.ReadAsync<(int Ago, long Users)>()).ToDictionary(r => r.Ago, r => r.Users);
        var budgets = (await results.ReadAsync<(string Period, decimal LimitUsd)>()).ToDictionary(r => r.Period, r => r.LimitUsd, StringComparer.Ordinal);

        double? P95Of(int kind, int ago) => dayP95.Where(r => r.Kind == kind && r.Ago == ago).Select(r => (double?)r.P95).FirstOrDefault();
        (double?, long) Window(int kind) => window.Where(r => r.Kind == kind).Select(r => ((double?)r.P95, r.Samples)).FirstOrDefault();
        var (latencyP95, latencySamples) = Window(0);
        var (ttftP95, ttftSamples) = Window(1);

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
            latencyP95,
            latencySamples,
            ttftP95,
            ttftSamples,
            [.. Enumerable.Range(0, 4).Select(ago => dau.GetValueOrDefault(ago))]);
    }

    public async Task<UsageSignals> GetAsync(string tenantId, TimeSpan latencyWindow, CancellationToken cancellationToken)
    {
        var f = await ReadAsync(tenantId, latencyWindow, cancellationToken);
        return new UsageSignals(
            f.Day, f.CostTodayUsd, f.DailyBudgetUsd, f.Errors24h, f.CriticalErrors24h, f.LatencyP95WindowMs, f.TtftP95WindowMs,
            f.LatencySamplesWindow, f.TtftSamplesWindow, f.FeedbackUp24h, f.FeedbackDown24h, f.Dau, f.UnpricedEvents24h);
    }

    /// <summary>The tenant's day budget; else its month budget spread evenly over the month's days; else none.</summary>
    private static decimal? DailyBudget(Dictionary<string, decimal> tenantBudgets, DateOnly today) =>
        tenantBudgets.TryGetValue("day", out var day) ? Money.Normalize(day)
        : tenantBudgets.TryGetValue("month", out var month) ? Money.Normalize(decimal.Round(month / UtcPeriods.DaysInMonth(today), 6, MidpointRounding.AwayFromZero))
        : null;
}
