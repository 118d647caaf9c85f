using Npgsql;

namespace Ops.Modules.KillSwitch.Contracts;

/// <summary>
/// The kill switch as other modules use it. Reads are answered from memory (no I/O); writes are validated,
/// recorded in the flag history and the audit log, and reach every Api instance within a second.
/// </summary>
public interface IKillSwitch
{
    /// <summary>
    /// Whether a call for this tenant, user, agent and model may go ahead, from memory. Checks, in order: the
    /// platform <c>killall</c>, the tenant's <c>killall</c>, <c>kill:user:</c>, <c>kill:agent:</c>, <c>kill:model:</c>;
    /// expiry is evaluated now, against the injected clock.
    /// </summary>
    KillSwitchVerdict Check(string tenantId, string? userId = null, string? agentId = null, string? model = null);

    /// <summary>The tenant's flags (and the platform's, with <see cref="FlagScope.Platform"/>) as this instance knows them, expired ones excluded.</summary>
    IReadOnlyList<FlagState> GetFlags(string tenantId);

    /// <summary>True when this instance's flags may be behind the database (see the operations guide).</summary>
    bool IsStale { get; }

    /// <summary>Evaluates a feature flag through Microsoft.FeatureManagement for a user and their groups.</summary>
    ValueTask<FeatureEvaluation> EvaluateFeatureAsync(string tenantId, string feature, string? userId, IReadOnlyList<string>? groups, CancellationToken cancellationToken);

    /// <summary>Sets (creates or replaces) a tenant's flag. Throws <see cref="FlagValidationException"/> on invalid input.</summary>
    Task<FlagChange> SetFlagAsync(FlagWrite write, CancellationToken cancellationToken);

    /// <summary>
    /// Sets a flag inside the caller's transaction (commits or rolls back with it). The change reaches the caches,
    /// this instance's included, through the change feed once the transaction commits.
    /// </summary>
    Task<FlagChange> SetFlagAsync(FlagWrite write, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken);

    /// <summary>
    /// Kills <paramref name="key"/> (a <c>kill:…</c> key or <c>killall</c>) until <paramref name="until"/> (null: until
    /// cleared), unless it is already killed at least that long: never shortens an operator's kill. Checks memory
    /// first, so calling it for every offending event costs nothing once the kill is in place.
    /// </summary>
    Task<FlagChange> EnsureKilledAsync(string tenantId, string key, DateTimeOffset? until, string reason, string actor, CancellationToken cancellationToken);

    /// <summary>Removes a flag; returns null when there was none.</summary>
    Task<FlagChange?> ClearFlagAsync(string tenantId, string key, string reason, string actor, CancellationToken cancellationToken);
}
