namespace Ops.Modules.KillSwitch.Contracts;

/// <summary>
/// The answer to "may this call go ahead?". When <see cref="Killed"/>, <see cref="Reason"/>, <see cref="Scope"/>
/// and <see cref="Flag"/> name the flag that stopped it and <see cref="RetryAfterSeconds"/> says when to ask
/// again. <see cref="ReadOnly"/> means writes must not happen. <see cref="Stale"/> means the answer comes from
/// the last state this instance could load (the database or its change feed is unreachable); it still applies.
/// </summary>
public readonly record struct KillSwitchVerdict(
    bool Killed,
    string? Reason,
    KillScope? Scope,
    string? Flag,
    DateTimeOffset? ExpiresAt,
    int? RetryAfterSeconds,
    bool ReadOnly,
    string? ReadOnlyReason,
    bool Stale);

/// <summary>A feature flag evaluated for one user (and their groups).</summary>
public sealed record FeatureEvaluation(string Feature, bool Defined, bool Enabled, string? Variant, System.Text.Json.JsonElement? VariantConfiguration);
