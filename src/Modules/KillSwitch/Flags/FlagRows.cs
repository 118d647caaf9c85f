using System.Text.Json;
using System.Text.Json.Nodes;
using Ops.Modules.KillSwitch.Contracts;
using Ops.Modules.Shared.Json;

namespace Ops.Modules.KillSwitch.Flags;

/// <summary>A row of <c>killswitch.flags</c>.</summary>
internal sealed class FlagRow
{
    public required string TenantId { get; init; }
    public required string Key { get; init; }
    public required string Kind { get; init; }
    public required string Value { get; init; }
    public required string Reason { get; init; }
    public required string SetBy { get; init; }
    public DateTimeOffset SetAt { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    public long ChangeId { get; init; }

    // Most values are booleans: share two elements instead of parsing a document per row.
    private static readonly JsonElement JsonTrue = JsonSerializer.SerializeToElement(true);
    private static readonly JsonElement JsonFalse = JsonSerializer.SerializeToElement(false);

    /// <param name="strings">
    /// When loading many flags: shares equal reasons and authors (a breaker or a bulk operation writes the same
    /// ones thousands of times) so the cache holds each once.
    /// </param>
    public FlagState ToState(Dictionary<string, string>? strings = null) => new()
    {
        Key = Key,
        Kind = FlagKinds.Parse(Kind),
        Scope = ScopeIds.ScopeOf(TenantId),
        Value = Value switch
        {
            "true" => JsonTrue,
            "false" => JsonFalse,
            _ => JsonSerializer.Deserialize<JsonElement>(Value),
        },
        Reason = Share(Reason, strings),
        SetBy = Share(SetBy, strings),
        SetAt = SetAt,
        ExpiresAt = ExpiresAt,
        ChangeId = ChangeId,
    };

    private static string Share(string value, Dictionary<string, string>? strings)
    {
        if (strings is null)
        {
            return value;
        }

        if (strings.TryGetValue(value, out var shared))
        {
            return shared;
        }

        strings[value] = value;
        return value;
    }
}

/// <summary>A row of <c>killswitch.flag_history</c>: one set, clear or expiry, with the flag before and after.</summary>
internal sealed class FlagHistoryRow
{
    public required string TenantId { get; init; }
    public long ChangeId { get; init; }
    public required string Key { get; init; }
    public required string Action { get; init; }
    public string? Before { get; init; }
    public string? After { get; init; }
    public required string Reason { get; init; }
    public required string Actor { get; init; }
    public DateTimeOffset At { get; init; }
}

/// <summary>How a flag is written into history rows, audit details and API bodies: the seed's shape plus expiry.</summary>
internal sealed record FlagSnapshot(JsonElement Value, string Reason, string SetBy, DateTimeOffset SetAt, DateTimeOffset? ExpiresAt)
{
    public static FlagSnapshot? Of(FlagState? state) =>
        state is null ? null : new FlagSnapshot(state.Value, state.Reason, state.SetBy, state.SetAt, state.ExpiresAt);

    public string ToJson() => JsonSerializer.Serialize(this, OpsJson.Options);

    public static JsonNode? Parse(string? json) => json is null ? null : JsonNode.Parse(json);
}

internal static class FlagKinds
{
    public static string ToDb(FlagKind kind) => kind switch
    {
        FlagKind.Killall => "killall",
        FlagKind.ReadOnly => "read_only",
        FlagKind.KillUser => "kill_user",
        FlagKind.KillAgent => "kill_agent",
        FlagKind.KillModel => "kill_model",
        _ => "feature",
    };

    public static FlagKind Parse(string kind) => kind switch
    {
        "killall" => FlagKind.Killall,
        "read_only" => FlagKind.ReadOnly,
        "kill_user" => FlagKind.KillUser,
        "kill_agent" => FlagKind.KillAgent,
        "kill_model" => FlagKind.KillModel,
        "feature" => FlagKind.Feature,
        _ => throw new InvalidOperationException($"Unknown flag kind '{kind}' in killswitch.flags."),
    };
}
