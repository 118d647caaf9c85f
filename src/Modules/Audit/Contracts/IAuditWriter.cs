using Npgsql;

namespace Ops.Modules.Audit.Contracts;

/// <summary>
/// How any module records what happened. Events are redacted before they are written (with the tenant's
/// patterns and always-redacted fields too). Pass the caller's connection and transaction where the event must
/// commit (or roll back) with the change it records. An event older than its tenant's audit retention is not
/// stored (the daily purge would delete it at once).
/// </summary>
public interface IAuditWriter
{
    Task WriteAsync(AuditEvent auditEvent, CancellationToken cancellationToken);

    Task WriteAsync(AuditEvent auditEvent, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken);

    /// <summary>
    /// The bulk path (ingestion). Events whose (tenant, request_id, action) is already stored are skipped, never
    /// duplicated. Returns how many were written.
    /// </summary>
    Task<int> WriteManyAsync(IReadOnlyList<AuditEvent> auditEvents, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken);
}
