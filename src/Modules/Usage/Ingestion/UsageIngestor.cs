using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Ops.Modules.Audit.Contracts;
using Ops.Modules.Usage.Contracts;
using Ops.Modules.Usage.Pricing;

namespace Ops.Modules.Usage.Ingestion;

/// <summary>The outcome of one ingestion request's valid events.</summary>
internal sealed record IngestOutcome(int Accepted, IReadOnlyList<int> DuplicateIndexes, int Unpriced);

/// <summary>
/// Stores a batch of validated events exactly once (ADR 0023), in one transaction:
/// <list type="number">
/// <item>take the tenant's shared pricing locks for the batch's days, read the pricing-version count and the
/// reprice assignments for those days (and, when retrying, which request ids are already stored) — one round trip;</item>
/// <item>price the new events (<see cref="PricingSnapshot"/>);</item>
/// <item>binary COPY them straight into usage.events, in request-id order;</item>
/// <item>write one audit event per call (<see cref="IAuditWriter.WriteManyAsync"/>, same transaction); commit.</item>
/// </list>
/// The first attempt does not look for stored duplicates: a retry of stored request ids fails the COPY with a unique
/// violation (a concurrent one blocks on the unique index until the first commits, then fails), and the batch is
/// retried from the start with the duplicate check. So a 2xx always means committed, and a request id is counted
/// once however many retries race. The rollups are folded from the committed events by <see cref="RollupFolder"/>.
/// </summary>
internal sealed partial class UsageIngestor(
    NpgsqlDataSource dataSource,
    PricingCatalog catalog,
    IAuditWriter audit,
    IEnumerable<IUsageBatchObserver> observers,
    IOptions<UsageOptions> options,
    TimeProvider time,
    ILogger<UsageIngestor> logger)
{
    private const int MaxAttempts = 5;
    private readonly IUsageBatchObserver[] _observers = observers.ToArray();

    public async Task<IngestOutcome> IngestAsync(string tenantId, IReadOnlyList<UsageEvent> events, DateTimeOffset receivedAt, CancellationToken cancellationToken)
    {
        // The first occurrence of a request id in the request wins; later ones are duplicates of it.
        var duplicates = new List<int>();
        var unique = new List<UsageEvent>(events.Count);
        var seen = new HashSet<string>(events.Count, StringComparer.Ordinal);
        foreach (var e in events)
        {
            if (seen.Add(e.RequestId))
            {
                unique.Add(e);
            }
            else
            {
                duplicates.Add(e.Index);
            }
        }

        // One global order for the unique index: concurrent batches never wait on each other in a cycle.
        unique.Sort(static (a, b) => string.CompareOrdinal(a.RequestId, b.RequestId));

        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var (stored, alreadyStored) = await TryIngestAsync(tenantId, unique, receivedAt, checkDuplicates: attempt > 1, cancellationToken);
                var duplicateIndexes = duplicates.Concat(alreadyStored).Order().ToList();
                if (stored.Count > 0)
                {
                    Notify(tenantId, stored);
                }

                return new IngestOutcome(stored.Count, duplicateIndexes, stored.Count(e => e.Unpriced));
            }
            catch (PostgresException ex) when (attempt < MaxAttempts && ex.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure)
            {
                LogRetry(logger, tenantId, attempt, ex.SqlState);
            }
        }
    }

    private async Task<(List<UsageEvent> Stored, List<int> AlreadyStored)> TryIngestAsync(
        string tenantId, List<UsageEvent> events, DateTimeOffset receivedAt, bool checkDuplicates, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        var days = events.Select(e => e.Day).Distinct().Order().ToArray();
        var (versionCount, assignments, existing) = await PrepareAsync(connection, transaction, tenantId, days, checkDuplicates ? events : null, cancellationToken);

        var stored = new List<UsageEvent>(events.Count - existing.Count);
        var alreadyStored = new List<int>(existing.Count);
        foreach (var e in events)
        {
            if (existing.Contains(e.RequestId))
            {
                alreadyStored.Add(e.Index);
            }
            else
            {
                stored.Add(e);
            }
        }

        if (stored.Count == 0)
        {
            await transaction.CommitAsync(cancellationToken);
            return (stored, alreadyStored);
        }

        var snapshot = await catalog.GetAsync(versionCount, cancellationToken);
        EventPricer.Price(snapshot, tenantId, assignments, stored);

        await EventCopier.CopyAsync(connection, tenantId, stored, receivedAt, cancellationToken);
        if (options.Value.AuditEvents)
        {
            await audit.WriteManyAsync(stored.Select(e => ToAuditEvent(tenantId, e)).ToList(), connection, transaction, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return (stored, alreadyStored);
    }

    /// <summary>Step 1, in one round trip; looks for stored request ids only when <paramref name="duplicateCandidates"/> is given.</summary>
    private static async Task<(long VersionCount, List<PricingAssignment> Assignments, HashSet<string> Existing)> PrepareAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string tenantId, DateOnly[] days, List<UsageEvent>? duplicateCandidates, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                // Shared per (tenant, day): a reprice of one of these days (exclusive) waits for us, or we for it.
                new NpgsqlBatchCommand("SELECT count(*) FROM (SELECT pg_advisory_xact_lock_shared(hashtext(@tenant), d) FROM unnest(@days) AS d ORDER BY d) AS locks")
                {
                    Parameters =
                    {
                        new NpgsqlParameter("tenant", NpgsqlDbType.Text) { Value = tenantId },
                        new NpgsqlParameter("days", NpgsqlDbType.Array | NpgsqlDbType.Integer) { Value = days.Select(d => d.DayNumber).ToArray() },
                    },
                },
                new NpgsqlBatchCommand(PricingCatalog.CountSql),
                new NpgsqlBatchCommand(PricingStore.AssignmentsSql)
                {
                    Parameters =
                    {
                        new NpgsqlParameter("tenant", NpgsqlDbType.Text) { Value = tenantId },
                        new NpgsqlParameter("first", NpgsqlDbType.Date) { Value = days[0] },
                        new NpgsqlParameter("last", NpgsqlDbType.Date) { Value = days[^1] },
                    },
                },
            },
        };
        if (duplicateCandidates is not null)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT request_id FROM usage.events WHERE tenant_id = @tenant AND request_id = ANY(@ids)")
            {
                Parameters =
                {
                    new NpgsqlParameter("tenant", NpgsqlDbType.Text) { Value = tenantId },
                    new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = duplicateCandidates.Select(e => e.RequestId).ToArray() },
                },
            });
        }

        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        await reader.NextResultAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var versionCount = reader.GetInt64(0);
        await reader.NextResultAsync(cancellationToken);
        var assignments = await PricingStore.ReadAssignmentsAsync(reader, cancellationToken);

        var existing = new HashSet<string>(StringComparer.Ordinal);
        if (duplicateCandidates is not null)
        {
            await reader.NextResultAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                existing.Add(reader.GetString(0));
            }
        }

        return (versionCount, assignments, existing);
    }

    /// <summary>
    /// The seed's audit line: ts, user_id, request_id, action, tokens, cost (ours, not the client's), latency, model,
    /// status. Nothing more: every string costs a redaction pass, and the rest is in usage.events.
    /// </summary>
    private static AuditEvent ToAuditEvent(string tenantId, UsageEvent e)
    {
        var details = new JsonObject
        {
            ["tokens_in"] = e.TokensIn,
            ["tokens_out"] = e.TokensOut,
            ["cost_usd"] = e.CostUsd,
            ["model"] = e.Model,
        };
        if (e.LatencyMs is { } latency)
        {
            details["latency_ms"] = latency;
        }

        return new AuditEvent
        {
            TenantId = tenantId,
            Action = e.Action,
            Timestamp = e.Timestamp,
            UserId = e.UserId,
            RequestId = e.RequestId,
            Status = e.IsError ? "error" : "ok",
            Details = details,
        };
    }

    private void Notify(string tenantId, List<UsageEvent> stored)
    {
        if (_observers.Length == 0)
        {
            return;
        }

        var batch = BatchNotifications.Summarize(tenantId, time.GetUtcNow(), stored);
        foreach (var observer in _observers)
        {
            try
            {
                observer.OnBatchCommitted(batch);
            }
#pragma warning disable CA1031 // An observer's failure must not turn a committed batch into an error for the client.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogObserverFailed(logger, observer.GetType().Name, ex);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Usage ingestion for {TenantId}: attempt {Attempt} lost a race ({SqlState}); retrying")]
    private static partial void LogRetry(ILogger logger, string tenantId, int attempt, string sqlState);

    [LoggerMessage(Level = LogLevel.Error, Message = "Usage batch observer {Observer} failed")]
    private static partial void LogObserverFailed(ILogger logger, string observer, Exception exception);
}
