using System.Globalization;
using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Ops.Modules.Audit.Settings;
using Ops.Modules.Audit.Writing;
using Ops.Modules.Shared.Notifications;
using Ops.Modules.Shared.Scheduling;

namespace Ops.Modules.Audit.Jobs;

/// <summary>What one run did, as stored in <c>audit.purge_runs</c>.</summary>
internal sealed record PurgeReport(
    DateTimeOffset StartedAt,
    IReadOnlyList<string> PartitionsCreated,
    IReadOnlyList<string> PartitionsDropped,
    IReadOnlyList<string> PartitionsDeferred,
    IReadOnlyDictionary<string, (long Events, long Keys)> DeletedByTenant)
{
    public long EventsDeleted => DeletedByTenant.Values.Sum(c => c.Events);

    public long KeysDeleted => DeletedByTenant.Values.Sum(c => c.Keys);
}

/// <summary>
/// The daily retention run (ADR 0011). Partitions hold every tenant's events of one UTC day, so:
/// <list type="number">
/// <item>partitions for today and the coming days are created ahead of time;</item>
/// <item>a day older than the longest retention in force (the default included) is expired for every tenant:
/// its partition is dropped whole;</item>
/// <item>in the days still kept, the rows of tenants whose own retention is shorter are deleted in bounded
/// batches, partition by partition, tenant by tenant (the tenants present are found by a loose index scan);</item>
/// <item>idempotency keys older than their tenant's retention are deleted the same way.</item>
/// </list>
/// Runs once across instances (advisory lock). <see cref="RunAsync"/> does the work, so tests drive it with a fake clock.
/// </summary>
internal sealed partial class RetentionJob(
    NpgsqlDataSource dataSource,
    AuditSettingsStore settings,
    AuditWriter writer,
    IChangeFeed changeFeed,
    IOptions<AuditOptions> options,
    TimeProvider time,
    ILogger<RetentionJob> logger)
{
    public const string LockName = "audit.retention";
    private const int KeptRuns = 400;

    private AuditRetentionOptions Retention => options.Value.Retention;

    /// <summary>Runs unless another instance is running it; returns null when it did not run.</summary>
    public async Task<PurgeReport?> RunExclusiveAsync(CancellationToken cancellationToken)
    {
        PurgeReport? report = null;
        await AdvisoryLock.TryRunExclusiveAsync(dataSource, LockName, async ct => report = await RunAsync(ct), cancellationToken);
        return report;
    }

    public async Task<PurgeReport> RunAsync(CancellationToken cancellationToken)
    {
        var startedAt = time.GetUtcNow();
        var today = DateOnly.FromDateTime(startedAt.UtcDateTime);

        // Decide on the stored settings, not on a cache that may have missed a notification.
        await settings.LoadAllAsync(cancellationToken);
        var defaultDays = Retention.DefaultDays;
        var chosen = settings.All.Where(s => s.RetentionDays is not null).ToDictionary(s => s.TenantId, s => s.RetentionDays!.Value, StringComparer.Ordinal);
        int DaysOf(string tenantId) => chosen.TryGetValue(tenantId, out var days) ? days : defaultDays;
        var longest = chosen.Values.Append(defaultDays).Max();
        var shortest = chosen.Values.Append(defaultDays).Min();

        var created = await EnsurePartitionsAheadAsync(today, cancellationToken);
        var deleted = new Dictionary<string, (long Events, long Keys)>(StringComparer.Ordinal);
        void Count(string tenantId, long events, long keys)
        {
            var (e, k) = deleted.GetValueOrDefault(tenantId);
            deleted[tenantId] = (e + events, k + keys);
        }

        var dropped = new List<string>();
        var deferred = new List<string>();
        var partitions = await ListPartitionsAsync(cancellationToken);
        foreach (var (day, name) in partitions.Where(p => p.Day < today.AddDays(-longest)))
        {
            var counts = await TryDropAsync(day, name, cancellationToken);
            if (counts is null)
            {
                deferred.Add(name);
                continue;
            }

            dropped.Add(name);
            foreach (var (tenantId, events) in counts)
            {
                Count(tenantId, events, 0);
            }
        }

        foreach (var (day, name) in partitions.Where(p => p.Day >= today.AddDays(-longest) && p.Day < today.AddDays(-shortest)))
        {
            foreach (var tenantId in await DistinctTenantsAsync(name, cancellationToken))
            {
                if (day < today.AddDays(-DaysOf(tenantId)))
                {
                    Count(tenantId, await DeleteInBatchesAsync($"audit.{name}", "tenant_id = @tenantId", new { tenantId }, cancellationToken), 0);
                }
            }
        }

        foreach (var tenantId in await DistinctTenantsAsync("event_keys", cancellationToken))
        {
            var cutoff = AuditSettingsStore.Cutoff(startedAt, DaysOf(tenantId));
            Count(tenantId, 0, await DeleteInBatchesAsync("audit.event_keys", "tenant_id = @tenantId AND ts < @cutoff", new { tenantId, cutoff }, cancellationToken));
        }

        if (dropped.Count > 0)
        {
            writer.ForgetPartitions();
            await changeFeed.PublishAsync(AuditWriter.PartitionsTopic, "dropped", cancellationToken);
        }

        var report = new PurgeReport(startedAt, created, dropped, deferred, deleted.Where(d => d.Value != (0, 0)).ToDictionary(StringComparer.Ordinal));
        await RecordAsync(report, defaultDays, longest, cancellationToken);
        LogRun(logger, dropped.Count, deferred.Count, report.EventsDeleted, report.KeysDeleted, created.Count);
        return report;
    }

    /// <summary>Creates the partitions of today and the next days; returns the names it created.</summary>
    public async Task<IReadOnlyList<string>> EnsurePartitionsAheadAsync(DateOnly today, CancellationToken cancellationToken)
    {
        var created = new List<string>();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        for (var day = today; day <= today.AddDays(Retention.PartitionsAheadDays); day = day.AddDays(1))
        {
            var isNew = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT audit.ensure_day_partition(@day)", new { day }, cancellationToken: cancellationToken));
            if (isNew)
            {
                created.Add(PartitionName(day));
            }
        }

        return created;
    }

    internal static string PartitionName(DateOnly day) => "events_" + day.ToString("yyyyMMdd", CultureInfo.InvariantCulture);

    private async Task<List<(DateOnly Day, string Name)>> ListPartitionsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<PartitionRow>(new CommandDefinition(
            "SELECT day, name FROM audit.day_partitions()", cancellationToken: cancellationToken));
        return rows.Select(r => (r.Day, r.Name)).ToList();
    }

    private sealed class PartitionRow
    {
        public DateOnly Day { get; init; }
        public required string Name { get; init; }
    }

    /// <summary>
    /// Counts the partition's rows per tenant (for the report) and drops it, holding its lock in between so the
    /// counts are exact. Waits at most LockTimeoutSeconds for the lock (a long export may hold it); returns
    /// null when it could not, and the partition is left for the next run.
    /// </summary>
    private async Task<Dictionary<string, long>?> TryDropAsync(DateOnly day, string name, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        try
        {
            await connection.ExecuteAsync(new CommandDefinition(
                $"SET LOCAL lock_timeout = '{Retention.LockTimeoutSeconds}s'; LOCK TABLE audit.{name} IN ACCESS EXCLUSIVE MODE",
                transaction: transaction, cancellationToken: cancellationToken));
            var counts = (await connection.QueryAsync<(string TenantId, long Events)>(new CommandDefinition(
                $"SELECT tenant_id, count(*) FROM audit.{name} GROUP BY tenant_id", transaction: transaction, cancellationToken: cancellationToken)))
                .ToDictionary(c => c.TenantId, c => c.Events, StringComparer.Ordinal);
            await connection.ExecuteAsync(new CommandDefinition(
                "SELECT audit.drop_day_partition(@day)", new { day }, transaction, cancellationToken: cancellationToken));
            await transaction.CommitAsync(cancellationToken);
            return counts;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.LockNotAvailable)
        {
            await transaction.RollbackAsync(cancellationToken);
            LogDeferred(logger, name, Retention.LockTimeoutSeconds);
            return null;
        }
    }

    /// <summary>Distinct tenant ids of a table led by tenant_id, one index probe per tenant (a loose index scan).</summary>
    private async Task<List<string>> DistinctTenantsAsync(string table, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var tenants = await connection.QueryAsync<string>(new CommandDefinition(
            $"""
            WITH RECURSIVE tenants AS (
                (SELECT tenant_id FROM audit.{table} ORDER BY tenant_id LIMIT 1)
                UNION ALL
                SELECT (SELECT t.tenant_id FROM audit.{table} t WHERE t.tenant_id > tenants.tenant_id ORDER BY t.tenant_id LIMIT 1)
                FROM tenants WHERE tenants.tenant_id IS NOT NULL
            )
            SELECT tenant_id FROM tenants WHERE tenant_id IS NOT NULL
            """,
            cancellationToken: cancellationToken));
        return tenants.ToList();
    }

    /// <summary>Deletes matching rows of one (non-partitioned) table, a bounded batch per statement and transaction.</summary>
    private async Task<long> DeleteInBatchesAsync(string table, string condition, object parameters, CancellationToken cancellationToken)
    {
        var batch = Retention.DeleteBatchSize;
        var sql = $"DELETE FROM {table} WHERE ctid = ANY (ARRAY(SELECT ctid FROM {table} WHERE {condition} LIMIT {batch}))";
        long total = 0;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        while (true)
        {
            var deleted = await connection.ExecuteAsync(new CommandDefinition(sql, parameters, cancellationToken: cancellationToken));
            total += deleted;
            if (deleted < batch)
            {
                return total;
            }
        }
    }

    private async Task RecordAsync(PurgeReport report, int defaultDays, int longestDays, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var runId = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            """
            INSERT INTO audit.purge_runs (started_at, finished_at, default_retention_days, longest_retention_days,
                                          partitions_created, partitions_dropped, partitions_deferred, events_deleted, keys_deleted)
            VALUES (@StartedAt, @finishedAt, @defaultDays, @longestDays, @created, @dropped, @deferred, @events, @keys)
            RETURNING run_id
            """,
            new
            {
                report.StartedAt,
                finishedAt = time.GetUtcNow(),
                defaultDays,
                longestDays,
                created = report.PartitionsCreated.ToArray(),
                dropped = report.PartitionsDropped.ToArray(),
                deferred = report.PartitionsDeferred.ToArray(),
                events = report.EventsDeleted,
                keys = report.KeysDeleted,
            },
            transaction,
            cancellationToken: cancellationToken));

        await using (var counts = new NpgsqlCommand(
            "INSERT INTO audit.purge_counts (tenant_id, run_id, events_deleted, keys_deleted) SELECT t, @run, e, k FROM unnest(@tenants, @events, @keys) AS u(t, e, k)",
            connection,
            transaction))
        {
            counts.Parameters.AddWithValue("run", runId);
            counts.Parameters.Add(new NpgsqlParameter("tenants", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = report.DeletedByTenant.Keys.ToArray() });
            counts.Parameters.Add(new NpgsqlParameter("events", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = report.DeletedByTenant.Values.Select(c => c.Events).ToArray() });
            counts.Parameters.Add(new NpgsqlParameter("keys", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = report.DeletedByTenant.Values.Select(c => c.Keys).ToArray() });
            await counts.ExecuteNonQueryAsync(cancellationToken);
        }

        // The run log is operational history, not audit data: keep the recent runs only.
        await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM audit.purge_runs WHERE run_id <= @runId - @kept", new { runId, kept = KeptRuns }, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Audit retention: dropped {Dropped} partitions ({Deferred} deferred), deleted {Events} events and {Keys} idempotency keys, created {Created} partitions")]
    private static partial void LogRun(ILogger logger, int dropped, int deferred, long events, long keys, int created);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Audit retention: partition {Partition} stayed locked for {Seconds} s (a long export?); it will be dropped at the next run")]
    private static partial void LogDeferred(ILogger logger, string partition, int seconds);
}
