using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;
using Ops.Modules.Audit.Contracts;

namespace Ops.Modules.Audit.Writing;

/// <summary>
/// Writes audit events: redacts every string, makes sure the day's partition exists (in its own short
/// transaction, so ingestion never holds partition DDL locks), and skips (tenant, request_id, action) pairs
/// already stored.
/// </summary>
internal sealed class AuditWriter(NpgsqlDataSource dataSource, IRedactor redactor) : IAuditWriter
{
    private readonly ConcurrentDictionary<DateOnly, bool> _knownPartitions = new();

    public async Task WriteAsync(AuditEvent auditEvent, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await WriteManyAsync([auditEvent], connection, transaction, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    public Task WriteAsync(AuditEvent auditEvent, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken) =>
        WriteManyAsync([auditEvent], connection, transaction, cancellationToken);

    public async Task<int> WriteManyAsync(IReadOnlyList<AuditEvent> auditEvents, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        if (auditEvents.Count == 0)
        {
            return 0;
        }

        await EnsurePartitionsAsync(auditEvents.Select(e => DateOnly.FromDateTime(e.Timestamp.UtcDateTime)), cancellationToken);

        var count = auditEvents.Count;
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
            var e = auditEvents[i];
            tenants[i] = e.TenantId;
            timestamps[i] = TruncateToMicroseconds(e.Timestamp.UtcDateTime);
            actions[i] = redactor.RedactText(e.Action, e.TenantId);
            users[i] = e.UserId is null ? null : redactor.RedactText(e.UserId, e.TenantId);
            requests[i] = e.RequestId is null ? null : redactor.RedactText(e.RequestId, e.TenantId);
            statuses[i] = e.Status is null ? null : redactor.RedactText(e.Status, e.TenantId);
            actors[i] = e.Actor;
            details[i] = e.Details is null ? "{}" : (redactor.Redact(e.Details, e.TenantId) ?? new JsonObject()).ToJsonString(JsonOptions);
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
            )
            INSERT INTO audit.events (tenant_id, ts, action, user_id, request_id, status, actor, details)
            SELECT tenant_id, ts, action, user_id, request_id, status, actor, details FROM input WHERE request_id IS NULL
            UNION ALL
            SELECT f.tenant_id, f.ts, f.action, f.user_id, f.request_id, f.status, f.actor, f.details
            FROM first_of_key f JOIN claimed c USING (tenant_id, request_id, action)
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
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Creates missing day partitions in their own transaction (partition DDL locks the parent table briefly).</summary>
    internal async Task EnsurePartitionsAsync(IEnumerable<DateOnly> days, CancellationToken cancellationToken)
    {
        var missing = days.Distinct().Where(d => !_knownPartitions.ContainsKey(d)).ToList();
        if (missing.Count == 0)
        {
            return;
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        foreach (var day in missing)
        {
            await using var command = new NpgsqlCommand("SELECT audit.ensure_day_partition(@day)", connection);
            command.Parameters.AddWithValue("day", day);
            await command.ExecuteScalarAsync(cancellationToken);
            _knownPartitions[day] = true;
        }
    }

    /// <summary>Retention dropped a partition: forget it so a late event for that day recreates it.</summary>
    internal void ForgetPartition(DateOnly day) => _knownPartitions.TryRemove(day, out _);

    private static DateTime TruncateToMicroseconds(DateTime utc) =>
        new(utc.Ticks - (utc.Ticks % TimeSpan.TicksPerMicrosecond), DateTimeKind.Utc);

    private static readonly JsonSerializerOptions JsonOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
