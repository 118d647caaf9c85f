using System.Text.Json;
using System.Text.Json.Nodes;
using Ops.Modules.KillSwitch.Contracts;
using Ops.Modules.KillSwitch.Flags;

namespace Ops.Modules.KillSwitch.Features;

/// <summary>A flag as the admin endpoints show it.</summary>
/// <param name="Status">on, off, or expired (kept until the expiry sweep moves it to the history).</param>
internal sealed record FlagResponse(
    string Key,
    FlagKind Kind,
    FlagScope Scope,
    JsonElement Value,
    string Status,
    string Reason,
    string SetBy,
    DateTimeOffset SetAt,
    DateTimeOffset? ExpiresAt,
    long ChangeId)
{
    public static FlagResponse From(FlagState flag, DateTimeOffset now) => new(
        flag.Key,
        flag.Kind,
        flag.Scope,
        flag.Value,
        flag.IsExpiredAt(now) ? "expired" : IsOn(flag.Value) ? "on" : "off",
        flag.Reason,
        flag.SetBy,
        flag.SetAt,
        flag.ExpiresAt,
        flag.ChangeId);

    /// <summary>true, or a feature definition that is enabled (its conditions then decide per user).</summary>
    private static bool IsOn(JsonElement value) =>
        value.ValueKind == JsonValueKind.True
        || (value.ValueKind == JsonValueKind.Object && value.TryGetProperty("enabled", out var enabled) && enabled.ValueKind == JsonValueKind.True);
}

/// <summary>A flag as agents see it (check, stream): no operator identities.</summary>
internal sealed record AgentFlag(string Key, FlagKind Kind, FlagScope Scope, JsonElement Value, string Reason, DateTimeOffset SetAt, DateTimeOffset? ExpiresAt)
{
    public static AgentFlag From(FlagState flag) => new(flag.Key, flag.Kind, flag.Scope, flag.Value, flag.Reason, flag.SetAt, flag.ExpiresAt);
}

/// <summary>One entry of a flag's history.</summary>
/// <param name="Action">set, cleared, or expired.</param>
/// <param name="Before">The flag before the change (value, reason, set_by, set_at, expires_at); null when it did not exist.</param>
/// <param name="After">The flag after the change; null when it was cleared or expired.</param>
internal sealed record FlagHistoryEntry(long ChangeId, string Key, FlagScope Scope, string Action, string Actor, DateTimeOffset At, string Reason, JsonNode? Before, JsonNode? After)
{
    public static FlagHistoryEntry From(FlagHistoryRow row) => new(
        row.ChangeId, row.Key, ScopeIds.ScopeOf(row.TenantId), row.Action, row.Actor, row.At, row.Reason, FlagSnapshot.Parse(row.Before), FlagSnapshot.Parse(row.After));
}
