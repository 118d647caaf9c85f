using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;
using Ops.Modules.Audit.Contracts;
using Ops.Modules.Audit.Redaction;
using Ops.Modules.Audit.Settings;
using Ops.Modules.Shared.Json;
using Ops.Modules.Shared.Notifications;

namespace Ops.Modules.Audit.Writing;

/// <summary>An event ready for storage: every string already redacted, the details already JSON.</summary>
internal sealed record StoredEvent(
    string TenantId,
    DateTimeOffset Timestamp,
    string Action,
    string? UserId,
    string? RequestId,
    string? Status,
    string? Actor,
    string DetailsJson);

/// <summary>
/// Writes audit events: redacts every string, skips events already past the tenant's retention (they would be
/// purged at once), makes sure the day's partition exists (in its own short transaction, so ingestion never
/// holds partition DDL locks), and skips (tenant, request_id, action) pairs already stored.
/// </summary>
internal sealed class AuditWriter : IAuditWriter, IDisposable
{
    /// <summary>Published after retention dropped partitions, so every instance forgets them.</summary>
    public const string PartitionsTopic = "audit.partitions";

    /// <summary>The columns an event has besides its details; a details key with one of these names is renamed so the exported line has no duplicate keys.</summary>
    internal static readonly FrozenSet<string> TopLevelNames =
        new[] { "ts", "tenant_id", "user_id", "request_id", "action", "status", "actor" }.ToFrozenSet(StringComparer.Ordinal);

    private readonly NpgsqlDataSource _dataSource;
    private readonly Redactor _redactor;
    private readonly AuditSettingsStore _settings;
    private readonly TimeProvider _time;
    private readonly IDisposable _subscription;
    private readonly ConcurrentDictionary<DateOnly, bool> _knownPartitions = new();

    public AuditWriter(NpgsqlDataSource dataSource, Redactor redactor, AuditSettingsStore settings, TimeProvider time, IChangeFeed changeFeed)
    {
        _dataSource = dataSource;
        _redactor = redactor;
        _settings = settings;
        _time = time;
        _subscription = changeFeed.Subscribe(PartitionsTopic, _ => _knownPartitions.Clear());
    }

    public async Task WriteAsync(AuditEvent auditEvent, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await WriteManyAsync([auditEvent], connection, transaction, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    public Task WriteAsync(AuditEvent auditEvent, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken) =>
        WriteManyAsync([auditEvent], connection, transaction, cancellationToken);

    public async Task<int> WriteManyAsync(IReadOnlyList<AuditEvent> auditEvents, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var prepared = new List<StoredEvent>(auditEvents.Count);
        foreach (var auditEvent in auditEvents)
        {
            if (auditEvent.Timestamp >= _settings.RetentionCutoff(auditEvent.TenantId, now))
            {
                prepared.Add(Prepare(auditEvent));
            }
        }

        var inserted = await InsertAsync(prepared, connection, transaction, cancellationToken);
        return inserted.Count(i => i);
    }

    /// <summary>Redacts an in-process event with its tenant's policy.</summary>
    internal StoredEvent Prepare(AuditEvent auditEvent)
    {
        var policy = _redactor.PolicyFor(auditEvent.TenantId);
        var details = auditEvent.Details is null ? null : _redactor.Redact(RenameTopLevelKeys(auditEvent.Details), auditEvent.TenantId);
        return new StoredEvent(
            auditEvent.TenantId,
            auditEvent.Timestamp,
            _redactor.RedactText(auditEvent.Action, policy),
            _redactor.RedactIdentifier("user_id", auditEvent.UserId, policy),
            _redactor.RedactIdentifier("request_id", auditEvent.RequestId, policy),
            _redactor.RedactColumn("status", auditEvent.Status, policy),
            auditEvent.Actor is null ? null : _redactor.RedactText(auditEvent.Actor, policy),
            details?.ToJsonString(OpsJson.Options) ?? "{}");
    }

    private static JsonObject RenameTopLevelKeys(JsonObject details)
    {
        if (!details.Any(p => TopLevelNames.Contains(p.Key)))
        {
            return details;
        }

        var renamed = new JsonObject();
        foreach (var (name, value) in details)
        {
            var key = name;
            for (var suffix = 2; TopLevelNames.Contains(key) || renamed.ContainsKey(key); suffix++)
            {
                key = $"{name}#{suffix}";
            }

            renamed[key] = value?.DeepClone();
        }

        return renamed;
    }

    /// <summary>
    /// Inserts already-redacted events in one statement. Returns, per event, whether it was stored (false: its
    /// (tenant, request_id, action) is already stored, or appears earlier in the same batch).
    /// </summary>
    internal async Task<bool[]> InsertAsync(IReadOnlyList<StoredEvent> events, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var inserted = new bool[events.Count];
        if (events.Count == 0)
        {
            return inserted;
        }

        await EnsurePartitionsAsync(events.Select(e => DateOnly.FromDateTime(e.Timestamp.UtcDateTime)), cancellationToken);

        var count = events.Count;
        var tenants = new string[count];
        var timestamps = new DateTime[count];
        var actions = new string[count];
        var users = new string?[count];
        var requests = new string?[count];
        var statuses = new string?[count];
        var actors = new string?[count];
        var details = new string[count];
        for (var i = 0; i < count; i++)
        {
            var e = events[i];
            tenants[i] = e.TenantId;
            timestamps[i] = TruncateToMicroseconds(e.Timestamp.UtcDateTime);
            actions[i] = e.Action;
            users[i] = e.UserId;
            requests[i] = e.RequestId;
            statuses[i] = e.Status;
            actors[i] = e.Actor;
            details[i] = e.DetailsJson;
        }

        await using var command = new NpgsqlCommand(
            """
            WITH input AS (
                SELECT * FROM unnest(@tenants, @timestamps, @actions, @users, @requests, @statuses, @actors, @details)
                    WITH ORDINALITY AS t(tenant_id, ts, action, user_id, request_id, status, actor, details, n)
            ),
            first_of_key AS (
                SELECT DISTINCT ON (tenant_id, request_id, action) * FROM input
                WHERE request_id IS NOT NULL
                ORDER BY tenant_id, request_id, action, n
            ),
            claimed AS (
                INSERT INTO audit.event_keys (tenant_id, request_id, action, ts)
                SELECT tenant_id, request_id, action, ts FROM first_of_key
                ON CONFLICT DO NOTHING
                RETURNING tenant_id, request_id, action
            ),
            to_insert AS (
                SELECT * FROM input WHERE request_id IS NULL
                UNION ALL
                SELECT f.* FROM first_of_key f JOIN claimed c USING (tenant_id, request_id, action)
            ),
            stored AS (
                INSERT INTO audit.events (tenant_id, ts, action, user_id, request_id, status, actor, details)
                SELECT tenant_id, ts, action, user_id, request_id, status, actor, details FROM to_insert ORDER BY n
            )
            SELECT n FROM to_insert
            """,
            connection,
            transaction);
        command.Parameters.Add(new NpgsqlParameter("tenants", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = tenants });
        command.Parameters.Add(new NpgsqlParameter("timestamps", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = timestamps });
        command.Parameters.Add(new NpgsqlParameter("actions", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = actions });
        command.Parameters.Add(new NpgsqlParameter("users", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = users });
        command.Parameters.Add(new NpgsqlParameter("requests", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = requests });
        command.Parameters.Add(new NpgsqlParameter("statuses", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = statuses });
        command.Parameters.Add(new NpgsqlParameter("actors", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = actors });
        command.Parameters.Add(new NpgsqlParameter("details", NpgsqlDbType.Array | NpgsqlDbType.Jsonb) { Value = details });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            inserted[reader.GetInt64(0) - 1] = true;
        }

        return inserted;
    }

    /// <summary>Creates missing day partitions in their own transaction (partition DDL locks the parent table briefly).</summary>
    internal async Task EnsurePartitionsAsync(IEnumerable<DateOnly> days, CancellationToken cancellationToken)
    {
        var missing = days.Distinct().Where(d => !_knownPartitions.ContainsKey(d)).ToList();
        if (missing.Count == 0)
        {
            return;
        }

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        foreach (var day in missing)
        {
            await using var command = new NpgsqlCommand("SELECT audit.ensure_day_partition(@day)", connection);
            command.Parameters.AddWithValue("day", day);
            await command.ExecuteScalarAsync(cancellationToken);
            _knownPartitions[day] = true;
        }
    }

    /// <summary>Retention dropped partitions on this instance: forget them at once (the others learn through the change feed).</summary>
    internal void ForgetPartitions() => _knownPartitions.Clear();

    private static DateTime TruncateToMicroseconds(DateTime utc) =>
        new(utc.Ticks - (utc.Ticks % TimeSpan.TicksPerMicrosecond), DateTimeKind.Utc);

    public void Dispose() => _subscription.Dispose();
}
