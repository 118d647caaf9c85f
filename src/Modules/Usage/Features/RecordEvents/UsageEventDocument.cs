using System.Text.Json.Nodes;

namespace Ops.Modules.Usage.Features.RecordEvents;

/// <summary>
/// The shape of one event, for the OpenAPI document only: the endpoint reads the body itself (one object, an array,
/// or NDJSON) so that each event is validated on its own. Rules: docs/api.md, Usage.
/// </summary>
internal sealed class UsageEventDocument
{
    /// <summary>Required. The idempotency key, per tenant.</summary>
    public string RequestId { get; init; } = string.Empty;

    /// <summary>Required. The end user (a pseudonymous id such as u_8a3f).</summary>
    public string UserId { get; init; } = string.Empty;

    /// <summary>Required, e.g. claude-opus-4-7.</summary>
    public string Model { get; init; } = string.Empty;

    /// <summary>Required, ≥ 0; includes cache tokens.</summary>
    public int TokensIn { get; init; }

    /// <summary>Required, ≥ 0.</summary>
    public int TokensOut { get; init; }

    /// <summary>RFC 3339; default: the receive time. At most 5 minutes in the future; any past date is accepted.</summary>
    public DateTimeOffset? Ts { get; init; }

    /// <summary>Default llm.call.</summary>
    public string? Action { get; init; }

    /// <summary>Default: the pricing catalog's provider for the model.</summary>
    public string? Provider { get; init; }

    public string? SessionId { get; init; }

    public string? AgentId { get; init; }

    /// <summary>e.g. slack, whatsapp, web.</summary>
    public string? Channel { get; init; }

    /// <summary>≥ 0; cache_read_tokens + cache_write_tokens ≤ tokens_in.</summary>
    public int? CacheReadTokens { get; init; }

    public int? CacheWriteTokens { get; init; }

    public double? LatencyMs { get; init; }

    /// <summary>Time to first token, ≤ latency_ms.</summary>
    public double? TtftMs { get; init; }

    /// <summary>ok | error (default: error when error_type is given, else ok).</summary>
    public string? Status { get; init; }

    public string? ErrorType { get; init; }

    /// <summary>info | warning | critical.</summary>
    public string? Severity { get; init; }

    /// <summary>What the client computed; stored as reported_cost_usd, never used for billing.</summary>
    public decimal? CostUsd { get; init; }

    /// <summary>up | down.</summary>
    public string? Feedback { get; init; }

    /// <summary>Any JSON object up to the metadata cap (8 KB); redacted before it is stored.</summary>
    public JsonObject? Metadata { get; init; }
}
