using System.ComponentModel.DataAnnotations;

namespace Ops.Modules.Usage;

/// <summary>Bound to <c>Modules:Usage</c>; every setting is documented in docs/operations.md.</summary>
internal sealed class UsageOptions
{
    public const string Section = "Modules:Usage";

    /// <summary>Events one ingestion request may carry; more is answered 413.</summary>
    [Range(1, 1_000_000)]
    public int MaxEventsPerRequest { get; set; } = 10_000;

    /// <summary>Bytes one ingestion request body may have; more is answered 413.</summary>
    [Range(1024, 1L << 30)]
    public long MaxRequestBytes { get; set; } = 10L * 1024 * 1024;

    /// <summary>Bytes of one event's <c>metadata</c> object (as sent); a larger one rejects that event.</summary>
    [Range(0, 1 << 20)]
    public int MaxMetadataBytes { get; set; } = 8 * 1024;

    /// <summary>How far in the future an event's <c>ts</c> may be (client clock skew), in seconds.</summary>
    [Range(0, 86_400)]
    public int MaxFutureSkewSeconds { get; set; } = 300;

    /// <summary>Days raw events are kept (by event time); rollups are kept for good.</summary>
    [Range(1, 3650)]
    public int RawRetentionDays { get; set; } = 90;

    /// <summary>Rows one retention DELETE removes; the job loops until nothing older than the cutoff is left.</summary>
    [Range(100, 1_000_000)]
    public int PurgeBatchSize { get; set; } = 10_000;

    /// <summary>When the retention purge runs (Coravel cron, UTC).</summary>
    [Required]
    public string PurgeCron { get; set; } = "17 3 * * *";

    /// <summary>Record one audit event per ingested LLM call, in the ingestion transaction.</summary>
    public bool AuditEvents { get; set; } = true;

    /// <summary>How often each instance folds newly committed events into the rollups (rollup freshness), in ms.</summary>
    [Range(50, 600_000)]
    public int RollupIntervalMs { get; set; } = 1_000;

    /// <summary>Events one fold transaction takes at most (catching up after downtime happens in chunks).</summary>
    [Range(1_000, 10_000_000)]
    public int RollupMaxEventsPerFold { get; set; } = 200_000;

    /// <summary>Longest range one reprice may cover, in days.</summary>
    [Range(1, 3660)]
    public int MaxRepriceDays { get; set; } = 366;

    /// <summary>Seconds between heartbeats on an idle usage stream (<c>GET /v1/usage/stream</c>).</summary>
    [Range(1, 300)]
    public int StreamHeartbeatSeconds { get; set; } = 15;
}
