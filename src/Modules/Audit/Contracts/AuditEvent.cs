using System.Text.Json.Nodes;

namespace Ops.Modules.Audit.Contracts;

/// <summary>
/// One audit event: one JSON line of the seed's audit log. The columns every query filters on are typed;
/// everything else (tokens, cost, latency, model, an operator action's before/after, …) rides in
/// <see cref="Details"/>. Every string in it is redacted before it is stored.
/// </summary>
public sealed record AuditEvent
{
    public required string TenantId { get; init; }

    /// <summary>What happened, dotted lower-case: <c>chat.reply</c>, <c>llm.call</c>, <c>key.created</c>, <c>flag.set</c>.</summary>
    public required string Action { get; init; }

    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>The end user the event is about (an agent's customer), when there is one.</summary>
    public string? UserId { get; init; }

    /// <summary>With <see cref="Action"/>, the idempotency key: the same pair is stored once per tenant.</summary>
    public string? RequestId { get; init; }

    public string? Status { get; init; }

    /// <summary>Who did it: <c>key:&lt;name&gt; (&lt;id&gt;)</c> for an operator, <c>system:&lt;job&gt;</c> for a job, null for agent-reported events.</summary>
    public string? Actor { get; init; }

    public JsonObject? Details { get; init; }
}
