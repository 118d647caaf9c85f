using System.Data;
using Dapper;
using Npgsql;

namespace Ops.Modules.KillSwitch.Flags;

/// <summary>The module's reads of its own tables (writes are in <see cref="FlagWriter"/>).</summary>
internal sealed class FlagStore(NpgsqlDataSource dataSource)
{
    private const string FlagColumns = "tenant_id, key, kind, value::text AS value, reason, set_by, set_at, expires_at, change_id";
    private const string HistoryColumns = "tenant_id, change_id, key, action, before::text AS before, after::text AS after, reason, actor, at";
    private const string JoinedHistoryColumns = "h.tenant_id, h.change_id, h.key, h.action, h.before::text AS before, h.after::text AS after, h.reason, h.actor, h.at";

    public sealed record Loaded(IReadOnlyList<FlagRow> Flags, IReadOnlyDictionary<string, long> Versions, IReadOnlyList<FlagHistoryRow> Changes);

    /// <summary>
    /// The flags of every scope whose version differs from <paramref name="knownVersions"/> (all of them on the
    /// first load), those scopes' versions, and their history rows after the known versions (what this instance
    /// missed), read in one repeatable-read snapshot so they agree with each other. Comparing versions first keeps
    /// the periodic safety-net reload cheap however many flags there are.
    /// </summary>
    public async Task<Loaded> LoadChangedAsync(IReadOnlyDictionary<string, long> knownVersions, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
        var changed = (await connection.QueryAsync<(string TenantId, long ChangeId)>(new CommandDefinition(
                "SELECT tenant_id, change_id FROM killswitch.scope_versions", transaction: transaction, cancellationToken: cancellationToken)))
            .Where(v => !knownVersions.TryGetValue(v.TenantId, out var known) || known != v.ChangeId)
            .ToDictionary(v => v.TenantId, v => v.ChangeId, StringComparer.Ordinal);
        if (changed.Count == 0)
        {
            await transaction.CommitAsync(cancellationToken);
            return new Loaded([], changed, []);
        }

        var scopes = changed.Keys.ToArray();
        var flags = (await connection.QueryAsync<FlagRow>(new CommandDefinition(
            knownVersions.Count == 0
                ? $"SELECT {FlagColumns} FROM killswitch.flags"
                : $"SELECT {FlagColumns} FROM killswitch.flags WHERE tenant_id = ANY(@scopes)",
            new { scopes },
            transaction,
            cancellationToken: cancellationToken))).ToList();
        var changes = (await connection.QueryAsync<FlagHistoryRow>(new CommandDefinition(
            $"""
            SELECT {JoinedHistoryColumns}
            FROM unnest(@scopes, @since) AS k(tenant_id, since)
            JOIN killswitch.flag_history h ON h.tenant_id = k.tenant_id AND h.change_id > k.since
            ORDER BY h.change_id
            """,
            new { scopes, since = scopes.Select(s => knownVersions.GetValueOrDefault(s)).ToArray() },
            transaction,
            cancellationToken: cancellationToken))).ToList();
        await transaction.CommitAsync(cancellationToken);
        return new Loaded(flags, changed, changes);
    }

    /// <summary>One scope's flags and version, and its history rows after <paramref name="knownVersion"/>.</summary>
    public async Task<Loaded> LoadScopeAsync(string scopeId, long knownVersion, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
        var flags = (await connection.QueryAsync<FlagRow>(new CommandDefinition(
            $"SELECT {FlagColumns} FROM killswitch.flags WHERE tenant_id = @scopeId", new { scopeId }, transaction, cancellationToken: cancellationToken))).ToList();
        var version = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT change_id FROM killswitch.scope_versions WHERE tenant_id = @scopeId", new { scopeId }, transaction, cancellationToken: cancellationToken)) ?? 0;
        var changes = version <= knownVersion ? [] : (await connection.QueryAsync<FlagHistoryRow>(new CommandDefinition(
            $"SELECT {HistoryColumns} FROM killswitch.flag_history WHERE tenant_id = @scopeId AND change_id > @knownVersion ORDER BY change_id",
            new { scopeId, knownVersion },
            transaction,
            cancellationToken: cancellationToken))).ToList();
        await transaction.CommitAsync(cancellationToken);
        return new Loaded(flags, new Dictionary<string, long> { [scopeId] = version }, changes);
    }

    /// <summary>A tenant's (and the platform's) changes after <paramref name="afterChangeId"/>, oldest first, at most <paramref name="limit"/>.</summary>
    public async Task<IReadOnlyList<FlagHistoryRow>> ChangesSinceAsync(string tenantId, long afterChangeId, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<FlagHistoryRow>(new CommandDefinition(
            $"""
            SELECT {HistoryColumns} FROM killswitch.flag_history
            WHERE tenant_id = ANY(@scopes) AND change_id > @afterChangeId
            ORDER BY change_id
            LIMIT @limit
            """,
            new { scopes = new[] { tenantId, ScopeIds.Platform }, afterChangeId, limit },
            cancellationToken: cancellationToken))).ToList();
    }

    public async Task<IReadOnlyList<FlagRow>> ListAsync(string scopeId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<FlagRow>(new CommandDefinition(
            $"SELECT {FlagColumns} FROM killswitch.flags WHERE tenant_id = @scopeId ORDER BY key", new { scopeId }, cancellationToken: cancellationToken))).ToList();
    }

    public async Task<FlagRow?> GetAsync(string scopeId, string key, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<FlagRow>(new CommandDefinition(
            $"SELECT {FlagColumns} FROM killswitch.flags WHERE tenant_id = @scopeId AND key = @key", new { scopeId, key }, cancellationToken: cancellationToken));
    }

    /// <summary>A key's history, newest first, before <paramref name="beforeChangeId"/> (keyset pagination).</summary>
    public async Task<IReadOnlyList<FlagHistoryRow>> HistoryAsync(string scopeId, string key, long? beforeChangeId, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<FlagHistoryRow>(new CommandDefinition(
            $"""
            SELECT {HistoryColumns} FROM killswitch.flag_history
            WHERE tenant_id = @scopeId AND key = @key AND (@beforeChangeId::bigint IS NULL OR change_id < @beforeChangeId)
            ORDER BY change_id DESC
            LIMIT @limit
            """,
            new { scopeId, key, beforeChangeId, limit },
            cancellationToken: cancellationToken))).ToList();
    }
}
