namespace Ops.Modules.Usage.Contracts;

/// <summary>
/// What the Alerts rules read. All windows end at now (by the injected TimeProvider). The 24-hour counts are
/// hour-aligned (the current hour and the 23 before it, from the rollups); the latency window is exact.
/// </summary>
/// <param name="Day">Today (UTC).</param>
/// <param name="DailyBudgetUsd">The tenant's day budget; else its month budget / days in the month; else null.</param>
/// <param name="LatencyP95Ms">p95 latency (percentile_cont) of the events with ts in (now − window, now]; null when no samples.</param>
/// <param name="TtftP95Ms">p95 time to first token over the latency window; null when no samples.</param>
/// <param name="DauByDay">Distinct active users: [today, yesterday, 2 days ago, 3 days ago].</param>
public sealed record UsageSignals(
    DateOnly Day,
    decimal CostTodayUsd,
    decimal? DailyBudgetUsd,
    long Errors24h,
    long CriticalErrors24h,
    double? LatencyP95Ms,
    double? TtftP95Ms,
    long LatencySamples,
    long TtftSamples,
    long FeedbackUp24h,
    long FeedbackDown24h,
    IReadOnlyList<long> DauByDay,
    long UnpricedEvents24h);

/// <summary>The tenant's live health figures, read from the rollups (the same computation as <c>GET /v1/dashboard/stats</c>).</summary>
public interface IUsageSignals
{
    /// <param name="latencyWindow">How far back p95 latency and TTFT look, exactly; read from raw events, so keep it short (minutes to hours).</param>
    Task<UsageSignals> GetAsync(string tenantId, TimeSpan latencyWindow, CancellationToken cancellationToken);
}
