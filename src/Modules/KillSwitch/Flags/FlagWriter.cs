using System.Text;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Ops.Modules.Audit.Contracts;
using Ops.Modules.KillSwitch.Contracts;
using Ops.Modules.KillSwitch.FeatureFlags;

namespace Ops.Modules.KillSwitch.Flags;

/// <summary>Builds the audit event of a flag change; the admin endpoints use the operator's request, other modules and jobs a system actor.</summary>
internal delegate AuditEvent FlagAuditFactory(string action, string target, FlagSnapshot? before, FlagSnapshot? after, string reason, DateTimeOffset at);

/// <summary>
/// Every flag write: validation, then in one transaction the flag row, its history row, the scope version, the
/// audit event and the change-feed notification. Writers serialize on one transaction-level advisory lock, so
/// change ids commit in increasing order (what lets a flag stream resume from the last id it saw); flag writes
/// are operator actions and breaker trips, rare enough that one lock costs nothing.
/// </summary>
internal sealed partial class FlagWriter(
    NpgsqlDataSource dataSource,
    IAuditWriter audit,
    FlagRefresher refresher,
    TimeProvider time,
    IOptions<KillSwitchOptions> options,
    ILogger<FlagWriter> logger)
{
    public const string SetAction = "flag.set";
    public const string ClearedAction = "flag.cleared";
    public const string ExpiredAction = "flag.expired";
    public const string ExpiryActor = "system:killswitch-expiry";
    public const int MaxReasonLength = 1000;

    private const string LockSql = "SELECT pg_advisory_xact_lock(hashtextextended('killswitch.changes', 0))";
    private const string FlagColumns = "tenant_id, key, kind, value::text AS value, reason, set_by, set_at, expires_at, change_id";

    /// <summary>Checks a write; throws <see cref="FlagValidationException"/> naming the field.</summary>
    public FlagKey Validate(FlagScope scope, string? key, JsonElement? value, string? reason, DateTimeOffset? expiresAt)
    {
        if (!FlagKeys.TryParse(key, out var parsed, out var keyError))
        {
            throw new FlagValidationException("key", keyError);
        }

        if (scope == FlagScope.Platform && !ScopeIds.AllowedOnPlatform(parsed.Kind))
        {
            throw new FlagValidationException("key", "only killall and read_only exist platform-wide; other flags belong to a tenant.");
        }

        if (value is not { } v || v.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            throw new FlagValidationException("value", parsed.Kind == FlagKind.Feature
                ? "is required: true, false, or a feature definition."
                : "is required: true (on) or false (off).");
        }

        if (parsed.Kind != FlagKind.Feature && v.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            throw new FlagValidationException("value", $"{key} takes true (on) or false (off).");
        }

        if (Encoding.UTF8.GetByteCount(v.GetRawText()) > options.Value.MaxValueBytes)
        {
            throw new FlagValidationException("value", $"is larger than {options.Value.MaxValueBytes} bytes of JSON.");
        }

        if (parsed.Kind == FlagKind.Feature && FeatureDefinitions.Validate(parsed.Subject, v) is [var first, ..])
        {
            throw new FlagValidationException(first.Field, first.Message);
        }

        ValidateReason(reason);
        if (expiresAt is { } at && at <= time.GetUtcNow())
        {
            throw new FlagValidationException("expires_at", "must be in the future.");
        }

        return parsed;
    }

    public static void ValidateReason(string? reason)
    {
        if (string.IsNullOrWhiteSpace(reason))
        {
            throw new FlagValidationException("reason", "is required: say why (it is shown to agents and kept in the history).");
        }

        if (reason.Length > MaxReasonLength)
        {
            throw new FlagValidationException("reason", $"must be at most {MaxReasonLength} characters.");
        }
    }

    /// <summary>
    /// Creates or replaces a flag (validate first). <paramref name="keep"/>, when given, is asked with the current
    /// flag under the lock; returning true makes the write a no-op. Without <paramref name="connection"/>, the
    /// write commits on its own and this instance's cache is updated before returning.
    /// </summary>
    public async Task<FlagChange> SetAsync(
        string scopeId,
        FlagKey key,
        JsonElement value,
        string reason,
        DateTimeOffset? expiresAt,
        string actor,
        FlagAuditFactory auditFactory,
        Func<FlagState?, bool>? keep,
        NpgsqlConnection? connection,
        NpgsqlTransaction? transaction,
        CancellationToken cancellationToken)
    {
        var keyText = key.ToString();
        var change = await InTransactionAsync(connection, transaction, scopeId, async (c, t) =>
        {
            var before = (await c.QuerySingleOrDefaultAsync<FlagRow>(new CommandDefinition(
                $"SELECT {FlagColumns} FROM killswitch.flags WHERE tenant_id = @scopeId AND key = @key FOR UPDATE",
                new { scopeId, key = keyText }, t, cancellationToken: cancellationToken)))?.ToState();
            if (keep?.Invoke(before) == true)
            {
                return new FlagChange(keyText, before, before, 0);
            }

            if (before is null)
            {
                var count = await c.ExecuteScalarAsync<long>(new CommandDefinition(
                    "SELECT count(*) FROM killswitch.flags WHERE tenant_id = @scopeId", new { scopeId }, t, cancellationToken: cancellationToken));
                if (count >= options.Value.MaxFlagsPerTenant)
                {
                    throw new FlagLimitException($"This scope already holds {count} flags (the limit is {options.Value.MaxFlagsPerTenant}); clear some first.");
                }
            }

            var now = time.GetUtcNow();
            var changeId = await NextChangeIdAsync(c, t, cancellationToken);
            var after = new FlagState
            {
                Key = keyText,
                Kind = key.Kind,
                Scope = ScopeIds.ScopeOf(scopeId),
                Value = value.Clone(),
                Reason = reason,
                SetBy = actor,
                SetAt = now,
                ExpiresAt = expiresAt,
                ChangeId = changeId,
            };
            await c.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO killswitch.flags (tenant_id, key, kind, value, reason, set_by, set_at, expires_at, change_id)
                VALUES (@scopeId, @key, @kind, @value::jsonb, @reason, @actor, @now, @expiresAt, @changeId)
                ON CONFLICT (tenant_id, key) DO UPDATE SET
                    kind = EXCLUDED.kind, value = EXCLUDED.value, reason = EXCLUDED.reason, set_by = EXCLUDED.set_by,
                    set_at = EXCLUDED.set_at, expires_at = EXCLUDED.expires_at, change_id = EXCLUDED.change_id
                """,
                new { scopeId, key = keyText, kind = FlagKinds.ToDb(key.Kind), value = value.GetRawText(), reason, actor, now, expiresAt, changeId },
                t,
                cancellationToken: cancellationToken));
            await RecordAsync(c, t, scopeId, changeId, keyText, "set", before, after, reason, actor, now, cancellationToken);
            await audit.WriteAsync(auditFactory(SetAction, Target(scopeId, keyText), FlagSnapshot.Of(before), FlagSnapshot.Of(after), reason, now), c, t, cancellationToken);
            return new FlagChange(keyText, before, after, changeId);
        }, cancellationToken);
        return change;
    }

    /// <summary>Removes a flag; null when there was none.</summary>
    public async Task<FlagChange?> ClearAsync(string scopeId, string key, string reason, string actor, FlagAuditFactory auditFactory, CancellationToken cancellationToken)
    {
        ValidateReason(reason);
        return await InTransactionAsync<FlagChange?>(null, null, scopeId, async (c, t) =>
        {
            var before = (await c.QuerySingleOrDefaultAsync<FlagRow>(new CommandDefinition(
                $"DELETE FROM killswitch.flags WHERE tenant_id = @scopeId AND key = @key RETURNING {FlagColumns}",
                new { scopeId, key }, t, cancellationToken: cancellationToken)))?.ToState();
            if (before is null)
            {
                return null;
            }

            var now = time.GetUtcNow();
            var changeId = await NextChangeIdAsync(c, t, cancellationToken);
            await RecordAsync(c, t, scopeId, changeId, key, "cleared", before, null, reason, actor, now, cancellationToken);
            await audit.WriteAsync(auditFactory(ClearedAction, Target(scopeId, key), FlagSnapshot.Of(before), null, reason, now), c, t, cancellationToken);
            return new FlagChange(key, before, null, changeId);
        }, cancellationToken);
    }

    /// <summary>
    /// Moves every flag that has expired by now to the history (action <c>expired</c>) and the audit log. The
    /// checks already ignore expired flags; this keeps the flag list and the history telling the truth.
    /// </summary>
    public async Task<int> ExpireAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(LockSql, transaction: transaction, cancellationToken: cancellationToken));
        var expired = (await connection.QueryAsync<FlagRow>(new CommandDefinition(
            $"DELETE FROM killswitch.flags WHERE expires_at <= @now RETURNING {FlagColumns}",
            new { now }, transaction, cancellationToken: cancellationToken))).OrderBy(r => r.TenantId, StringComparer.Ordinal).ThenBy(r => r.Key, StringComparer.Ordinal).ToList();
        var events = new List<AuditEvent>(expired.Count);
        foreach (var row in expired)
        {
            var before = row.ToState();
            var changeId = await NextChangeIdAsync(connection, transaction, cancellationToken);
            var reason = $"expired at {before.ExpiresAt:O}";
            await RecordAsync(connection, transaction, row.TenantId, changeId, row.Key, "expired", before, null, reason, ExpiryActor, now, cancellationToken);
            events.Add(SystemAudit(row.TenantId, ExpiryActor)(ExpiredAction, Target(row.TenantId, row.Key), FlagSnapshot.Of(before), null, reason, now));
        }

        await audit.WriteManyAsync(events, connection, transaction, cancellationToken);
        var scopes = expired.Select(r => r.TenantId).Distinct(StringComparer.Ordinal).ToList();
        foreach (var scopeId in scopes)
        {
            await refresher.PublishAsync(scopeId, connection, transaction, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        foreach (var scopeId in scopes)
        {
            await RefreshLocallyAsync(scopeId, cancellationToken);
        }

        return expired.Count;
    }

    /// <summary>The audit event of a change made by a module or job rather than an operator's request.</summary>
    public static FlagAuditFactory SystemAudit(string tenantId, string actor) => (action, target, before, after, reason, at) =>
    {
        var details = new System.Text.Json.Nodes.JsonObject { ["target"] = target, ["reason"] = reason };
        if (before is not null)
        {
            details["before"] = JsonSerializer.SerializeToNode(before, Shared.Json.OpsJson.Options);
        }

        if (after is not null)
        {
            details["after"] = JsonSerializer.SerializeToNode(after, Shared.Json.OpsJson.Options);
        }

        return new AuditEvent { TenantId = tenantId, Action = action, Timestamp = at, Status = "ok", Actor = actor, Details = details };
    };

    public static string Target(string scopeId, string key) => scopeId == ScopeIds.Platform ? $"platform:flag:{key}" : $"flag:{key}";

    private async Task<T> InTransactionAsync<T>(
        NpgsqlConnection? connection,
        NpgsqlTransaction? transaction,
        string scopeId,
        Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work,
        CancellationToken cancellationToken)
    {
        if (connection is not null && transaction is not null)
        {
            await connection.ExecuteAsync(new CommandDefinition(LockSql, transaction: transaction, cancellationToken: cancellationToken));
            var joined = await work(connection, transaction);
            await refresher.PublishAsync(scopeId, connection, transaction, cancellationToken);
            return joined;
        }

        T result;
        await using (var own = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var ownTransaction = await own.BeginTransactionAsync(cancellationToken))
        {
            await own.ExecuteAsync(new CommandDefinition(LockSql, transaction: ownTransaction, cancellationToken: cancellationToken));
            result = await work(own, ownTransaction);
            await refresher.PublishAsync(scopeId, own, ownTransaction, cancellationToken);
            await ownTransaction.CommitAsync(cancellationToken);
        }

        await RefreshLocallyAsync(scopeId, cancellationToken);
        return result;
    }

    /// <summary>Read-your-writes on this instance; if it fails, the notification (or the periodic refresh) catches up.</summary>
    private async Task RefreshLocallyAsync(string scopeId, CancellationToken cancellationToken)
    {
        try
        {
            await refresher.ReloadScopeAsync(scopeId, cancellationToken);
        }
        catch (NpgsqlException ex)
        {
            LogLocalRefreshFailed(logger, scopeId, ex.Message);
        }
    }

    private static async Task<long> NextChangeIdAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken) =>
        await connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT nextval('killswitch.change_ids')", transaction: transaction, cancellationToken: cancellationToken));

    private static async Task RecordAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        string scopeId,
        long changeId,
        string key,
        string action,
        FlagState? before,
        FlagState? after,
        string reason,
        string actor,
        DateTimeOffset at,
        CancellationToken cancellationToken)
    {
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO killswitch.flag_history (tenant_id, change_id, key, action, before, after, reason, actor, at)
            VALUES (@scopeId, @changeId, @key, @action, @before::jsonb, @after::jsonb, @reason, @actor, @at);
            INSERT INTO killswitch.scope_versions (tenant_id, change_id) VALUES (@scopeId, @changeId)
            ON CONFLICT (tenant_id) DO UPDATE SET change_id = EXCLUDED.change_id;
            """,
            new { scopeId, changeId, key, action, before = FlagSnapshot.Of(before)?.ToJson(), after = FlagSnapshot.Of(after)?.ToJson(), reason, actor, at },
            transaction,
            cancellationToken: cancellationToken));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kill switch: a flag of {Scope} was written but this instance could not reload it ({Reason}); the change feed will bring it")]
    private static partial void LogLocalRefreshFailed(ILogger logger, string scope, string reason);
}

/// <summary>The scope holds as many flags as it may.</summary>
internal sealed class FlagLimitException(string message) : Exception(message);
