using System.Text.Json;

namespace Ops.Modules.KillSwitch.Contracts;

/// <summary>
/// One flag as stored: the seed's <c>system_flags</c> row (key, value, reason, set_by, set_at) plus its expiry.
/// <see cref="Value"/> is <c>true</c>/<c>false</c> for the built-in flags, and <c>true</c>/<c>false</c> or a
/// Microsoft feature flag definition for features.
/// </summary>
public sealed record FlagState
{
    public required string Key { get; init; }

    public required FlagKind Kind { get; init; }

    public required FlagScope Scope { get; init; }

    public required JsonElement Value { get; init; }

    public required string Reason { get; init; }

    public required string SetBy { get; init; }

    public required DateTimeOffset SetAt { get; init; }

    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>The change that produced this state (increasing across every change of every scope).</summary>
    public required long ChangeId { get; init; }

    public bool IsExpiredAt(DateTimeOffset now) => ExpiresAt is { } expiresAt && expiresAt <= now;

    /// <summary>A built-in flag is on when its value is <c>true</c> and it has not expired.</summary>
    public bool IsOnAt(DateTimeOffset now) => Value.ValueKind == JsonValueKind.True && !IsExpiredAt(now);
}

/// <summary>What a write did: the flag before and after (null when absent), and the change id it was recorded under.</summary>
public sealed record FlagChange(string Key, FlagState? Before, FlagState? After, long ChangeId)
{
    /// <summary>False when the write was a no-op (e.g. <see cref="IKillSwitch.EnsureKilledAsync"/> found a longer kill).</summary>
    public bool Changed => ChangeId > 0;
}

/// <summary>A flag write, as the admin endpoint or another module (the spend breaker) asks for it.</summary>
public sealed record FlagWrite
{
    /// <summary>The tenant whose flag it is.</summary>
    public required string TenantId { get; init; }

    public required string Key { get; init; }

    public required JsonElement Value { get; init; }

    /// <summary>Why; required, shown to agents in the check's <c>reason</c>.</summary>
    public required string Reason { get; init; }

    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>Who: <c>system:&lt;job&gt;</c> for a job, <c>key:&lt;name&gt; (&lt;id&gt;)</c> for an operator.</summary>
    public required string Actor { get; init; }
}

/// <summary>A write was refused: <see cref="Field"/> names the offending input (<c>key</c>, <c>value…</c>, <c>reason</c>, <c>expires_at</c>).</summary>
public sealed class FlagValidationException(string field, string message) : ArgumentException(message, field)
{
    public string Field { get; } = field;

    /// <summary>The message without the parameter name appended by <see cref="ArgumentException"/>.</summary>
    public string Detail { get; } = message;
}
