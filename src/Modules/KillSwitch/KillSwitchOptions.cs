using System.ComponentModel.DataAnnotations;

namespace Ops.Modules.KillSwitch;

/// <summary>Bound to <c>Modules:KillSwitch</c>; every setting is described in docs/operations.md.</summary>
internal sealed class KillSwitchOptions
{
    public const string Section = "Modules:KillSwitch";

    /// <summary>
    /// The safety-net full reload of every instance's flags, on top of change-feed notifications. Also the
    /// staleness bound: with the change feed down, a check reports <c>stale</c> once the last successful reload
    /// is older than this.
    /// </summary>
    [Range(1, 3600)]
    public int RefreshIntervalSeconds { get; set; } = 30;

    /// <summary>The <c>retry_after_s</c> (and <c>Retry-After</c>) answered for a kill that has no expiry.</summary>
    [Range(1, 86_400)]
    public int DefaultRetryAfterSeconds { get; set; } = 30;

    /// <summary>How often an idle flag stream (SSE) sends a heartbeat event.</summary>
    [Range(1, 300)]
    public int StreamHeartbeatSeconds { get; set; } = 15;

    /// <summary>A resuming stream (<c>Last-Event-ID</c>) replays at most this many changes; further behind, it gets a snapshot.</summary>
    [Range(1, 100_000)]
    public int StreamReplayLimit { get; set; } = 1000;

    /// <summary>Flags (of every kind) one tenant may hold; protects every instance's memory.</summary>
    [Range(1, 1_000_000)]
    public int MaxFlagsPerTenant { get; set; } = 10_000;

    /// <summary>Largest accepted flag value (a feature definition), in bytes of JSON.</summary>
    [Range(64, 1_048_576)]
    public int MaxValueBytes { get; set; } = 16_384;

    /// <summary>Whether the job that moves expired flags to the history (and the audit log) runs, every minute.</summary>
    public bool ExpirySweepEnabled { get; set; } = true;

    public TimeSpan RefreshInterval => TimeSpan.FromSeconds(RefreshIntervalSeconds);
}
