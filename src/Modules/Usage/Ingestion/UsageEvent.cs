namespace Ops.Modules.Usage.Ingestion;

/// <summary>One validated LLM-call event. The pricing fields are filled in inside the ingestion transaction.</summary>
internal sealed class UsageEvent
{
    /// <summary>Position in the request (0-based), for the per-index report.</summary>
    public required int Index { get; init; }

    public required string RequestId { get; init; }

    public required string UserId { get; init; }

    public required string Model { get; init; }

    public required DateTimeOffset Timestamp { get; init; }

    public required string Action { get; init; }

    /// <summary>As sent; when null the catalog's provider for the model is used.</summary>
    public string? ReportedProvider { get; init; }

    public string? SessionId { get; init; }

    public string? AgentId { get; init; }

    public string? Channel { get; init; }

    public required int TokensIn { get; init; }

    public required int TokensOut { get; init; }

    public int CacheReadTokens { get; init; }

    public int CacheWriteTokens { get; init; }

    public int? LatencyMs { get; init; }

    public int? TtftMs { get; init; }

    public bool IsError { get; init; }

    public string? ErrorType { get; init; }

    public string? Severity { get; init; }

    public bool IsCriticalError => IsError && Severity == Severities.Critical;

    /// <summary>What the client computed; kept for comparison, never used for billing.</summary>
    public decimal? ReportedCostUsd { get; init; }

    public string? Feedback { get; init; }

    /// <summary>Redacted JSON text of the metadata object.</summary>
    public string? MetadataJson { get; init; }

    public DateOnly Day => DateOnly.FromDateTime(Timestamp.UtcDateTime);

    public DateTimeOffset Hour => new(Timestamp.Year, Timestamp.Month, Timestamp.Day, Timestamp.Hour, 0, 0, TimeSpan.Zero);

    // Filled in by pricing.
    public string Provider { get; set; } = string.Empty;

    public decimal CostUsd { get; set; }

    public string? PricingVersion { get; set; }

    public bool Unpriced { get; set; }
}

internal static class Severities
{
    public const string Info = "info";
    public const string Warning = "warning";
    public const string Critical = "critical";
    public static readonly string[] All = [Info, Warning, Critical];
}

internal static class Ratings
{
    public const string Up = "up";
    public const string Down = "down";
    public static readonly string[] All = [Up, Down];
}

/// <summary>A field error of one event, named as in the wire format. <see cref="IsOverCap"/>: a size cap (413 for a lone event).</summary>
internal sealed record FieldError(string Name, string Reason, bool IsOverCap = false);
