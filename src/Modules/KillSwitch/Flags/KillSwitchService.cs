using System.Text.Json;
using Npgsql;
using Ops.Modules.KillSwitch.Contracts;
using Ops.Modules.KillSwitch.FeatureFlags;

namespace Ops.Modules.KillSwitch.Flags;

/// <summary>The module's contract for other modules: reads from memory, writes through <see cref="FlagWriter"/> with a system actor.</summary>
internal sealed class KillSwitchService(FlagCache cache, FlagWriter writer, FeatureEvaluator evaluator, TimeProvider time) : IKillSwitch
{
    public bool IsStale => cache.IsStale;

    public KillSwitchVerdict Check(string tenantId, string? userId = null, string? agentId = null, string? model = null) =>
        cache.Check(tenantId, userId, agentId, model);

    public IReadOnlyList<FlagState> GetFlags(string tenantId) => cache.GetFlags(tenantId);

    public ValueTask<FeatureEvaluation> EvaluateFeatureAsync(string tenantId, string feature, string? userId, IReadOnlyList<string>? groups, CancellationToken cancellationToken) =>
        evaluator.EvaluateAsync(tenantId, feature, userId, groups, cancellationToken);

    public Task<FlagChange> SetFlagAsync(FlagWrite write, CancellationToken cancellationToken) =>
        SetAsync(write, null, null, cancellationToken);

    public Task<FlagChange> SetFlagAsync(FlagWrite write, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken) =>
        SetAsync(write, connection, transaction, cancellationToken);

    public async Task<FlagChange> EnsureKilledAsync(string tenantId, string key, DateTimeOffset? until, string reason, string actor, CancellationToken cancellationToken)
    {
        if (FlagKeys.TryParse(key, out var parsed, out _) && parsed.Kind is FlagKind.ReadOnly or FlagKind.Feature)
        {
            throw new FlagValidationException("key", "EnsureKilled takes killall or a kill:user:/kill:agent:/kill:model: key.");
        }

        // The common case (the kill is already in place) is answered from memory, with no database round trip.
        var current = cache.GetScope(tenantId).All.FirstOrDefault(f => f.Key == key);
        if (Covers(current, until))
        {
            return new FlagChange(key, current, current, 0);
        }

        var valid = writer.Validate(FlagScope.Tenant, key, JsonSerializer.SerializeToElement(true), reason, until);
        return await writer.SetAsync(
            tenantId, valid, JsonSerializer.SerializeToElement(true), reason, until, actor, FlagWriter.SystemAudit(tenantId, actor),
            keep: existing => Covers(existing, until), connection: null, transaction: null, cancellationToken);
    }

    public Task<FlagChange?> ClearFlagAsync(string tenantId, string key, string reason, string actor, CancellationToken cancellationToken)
    {
        if (!FlagKeys.TryParse(key, out _, out var error))
        {
            throw new FlagValidationException("key", error);
        }

        return writer.ClearAsync(tenantId, key, reason, actor, FlagWriter.SystemAudit(tenantId, actor), cancellationToken);
    }

    private Task<FlagChange> SetAsync(FlagWrite write, NpgsqlConnection? connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        var key = writer.Validate(FlagScope.Tenant, write.Key, write.Value, write.Reason, write.ExpiresAt);
        return writer.SetAsync(
            write.TenantId, key, write.Value, write.Reason, write.ExpiresAt, write.Actor, FlagWriter.SystemAudit(write.TenantId, write.Actor),
            keep: null, connection, transaction, cancellationToken);
    }

    /// <summary>An existing kill that is on now and lasts at least until <paramref name="until"/> (or forever).</summary>
    private bool Covers(FlagState? existing, DateTimeOffset? until) =>
        existing is not null
        && existing.IsOnAt(time.GetUtcNow())
        && (existing.ExpiresAt is null || (until is not null && existing.ExpiresAt >= until));
}
