using System.ComponentModel.DataAnnotations;

namespace Ops.Modules.Alerts;

/// <summary>Bound to <c>Modules:Alerts</c>; every setting is described in docs/operations.md.</summary>
internal sealed class AlertsOptions
{
    public const string Section = "Modules:Alerts";

    /// <summary>Whether the evaluation job runs (once across all instances, advisory lock).</summary>
    public bool EvaluationEnabled { get; set; } = true;

    /// <summary>Minutes between evaluations (a divisor of 60: the job runs on the cron <c>*/n * * * *</c>).</summary>
    [Range(1, 30)]
    public int EvaluationIntervalMinutes { get; set; } = 5;

    /// <summary>While an alert fires, its key never notifies again within this many minutes (and a re-fire after a resolve neither).</summary>
    [Range(1, 7 * 24 * 60)]
    public int DedupMinutes { get; set; } = 60;

    /// <summary>A snooze older than this with no follow-up note is flagged <c>needs_follow_up</c> (the weekly check).</summary>
    [Range(1, 365)]
    public int SnoozeFollowUpDays { get; set; } = 7;

    [Required]
    public AlertsDeliveryOptions Delivery { get; set; } = new();

    [Required]
    public AlertsBreakerOptions Breaker { get; set; } = new();

    public TimeSpan DedupWindow => TimeSpan.FromMinutes(DedupMinutes);
}

internal sealed class AlertsDeliveryOptions
{
    /// <summary>Whether this instance runs the delivery loop.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How long one attempt may take (connect, send, answer), in milliseconds.</summary>
    [Range(100, 120_000)]
    public int TimeoutMilliseconds { get; set; } = 10_000;

    /// <summary>Attempts per delivery before it is marked failed.</summary>
    [Range(1, 20)]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>The wait after the first failed attempt; doubled after each further one (capped at <see cref="MaxBackoffSeconds"/>).</summary>
    [Range(100, 600_000)]
    public int BackoffMilliseconds { get; set; } = 2_000;

    [Range(1, 86_400)]
    public int MaxBackoffSeconds { get; set; } = 600;

    /// <summary>How often the loop looks for due deliveries when nothing woke it (retries, other instances' alerts).</summary>
    [Range(100, 60_000)]
    public int PollMilliseconds { get; set; } = 1_000;

    /// <summary>Deliveries in flight at once on this instance (a hanging channel holds one slot until its timeout).</summary>
    [Range(1, 256)]
    public int MaxConcurrent { get; set; } = 16;

    /// <summary>The signed timestamp may be at most this old for a receiver to accept it (documented for receivers; sent as a header).</summary>
    [Range(10, 3600)]
    public int ReplayToleranceSeconds { get; set; } = 300;

    public TimeSpan Timeout => TimeSpan.FromMilliseconds(TimeoutMilliseconds);

    public TimeSpan BackoffAfter(int attempts)
    {
        var delay = TimeSpan.FromMilliseconds(BackoffMilliseconds * Math.Pow(2, Math.Max(0, attempts - 1)));
        var cap = TimeSpan.FromSeconds(MaxBackoffSeconds);
        return delay < cap ? delay : cap;
    }
}

internal sealed class AlertsBreakerOptions
{
    /// <summary>Committed batches waiting for the breaker on this instance; beyond it, batches are dropped (and counted).</summary>
    [Range(100, 1_000_000)]
    public int QueueCapacity { get; set; } = 10_000;

    /// <summary>
    /// When this instance's own sliding-window sum for a subject reaches this share of the limit, the breaker asks the
    /// database for the subject's spend across every instance (see ADR 0041).
    /// </summary>
    [Range(0.01, 1.0)]
    public double VerifyFraction { get; set; } = 0.5;

    /// <summary>At most one database verification (one query for every subject near the limit) per tenant per this many milliseconds.</summary>
    [Range(10, 60_000)]
    public int VerifyIntervalMilliseconds { get; set; } = 1_000;
}
