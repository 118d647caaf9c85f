using Dapper;
using Coravel.Invocable;
using Coravel.Scheduling.Schedule.Interfaces;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Ops.Modules.Shared.Scheduling;

namespace Ops.Modules.Usage.Jobs;

/// <summary>
/// Deletes raw events older than RawRetentionDays (whole UTC days, by event time) in bounded batches, tenant by
/// tenant, so no statement holds locks or bloats WAL for long. Rollups are kept; events not folded into them yet
/// (a fresh backfill of old events) wait for the fold. Runs on one instance at a time.
/// </summary>
internal sealed partial class RawEventRetention(NpgsqlDataSource dataSource, IOptions<UsageOptions> options, TimeProvider time, ILogger<RawEventRetention> logger)
{
    /// <summary>The first UTC day whose raw events are kept; reprices cannot reach before it.</summary>
    public DateOnly Horizon => DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime).AddDays(-options.Value.RawRetentionDays);

    /// <summary>Purges now; returns how many events were deleted (0 when another instance is purging).</summary>
    public async Task<long> PurgeAsync(CancellationToken cancellationToken)
    {
        long deleted = 0;
        var cutoff = Horizon.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
        var batchSize = options.Value.PurgeBatchSize;
        await AdvisoryLock.TryRunExclusiveAsync(dataSource, "usage.retention", async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            // Distinct tenants by a loose index scan of (tenant_id, ts): one probe per tenant, not a scan of every event.
            var tenants = (await connection.QueryAsync<string>(new CommandDefinition(
                """
                WITH RECURSIVE t AS (
                    (SELECT tenant_id FROM usage.events ORDER BY tenant_id LIMIT 1)
                    UNION ALL
                    SELECT (SELECT e.tenant_id FROM usage.events e WHERE e.tenant_id > t.tenant_id ORDER BY e.tenant_id LIMIT 1)
                    FROM t WHERE t.tenant_id IS NOT NULL
                )
                SELECT tenant_id FROM t WHERE tenant_id IS NOT NULL
                """,
                cancellationToken: ct))).ToList();

            foreach (var tenant in tenants)
            {
                int removed;
                do
                {
                    removed = await connection.ExecuteAsync(new CommandDefinition(
                        """
                        DELETE FROM usage.events WHERE ctid = ANY (ARRAY(
                            SELECT ctid FROM usage.events
                            WHERE tenant_id = @tenant AND ts < @cutoff
                              AND txid < (SELECT folded_below FROM usage.rollup_watermarks WHERE tenant_id = @tenant)
                            LIMIT @batchSize))
                        """,
                        new { tenant, cutoff, batchSize },
                        cancellationToken: ct));
                    deleted += removed;
                }
                while (removed == batchSize);
            }
        }, cancellationToken);

        if (deleted > 0)
        {
            LogPurged(logger, deleted, cutoff);
        }

        return deleted;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Usage retention: deleted {Count} raw events older than {Cutoff:O}")]
    private static partial void LogPurged(ILogger logger, long count, DateTime cutoff);
}

/// <summary>The Coravel entry point of <see cref="RawEventRetention"/>.</summary>
internal sealed class RawEventRetentionJob(RawEventRetention retention) : IInvocable, ICancellableInvocable
{
    public CancellationToken CancellationToken { get; set; }

    public Task Invoke() => retention.PurgeAsync(CancellationToken);
}

internal sealed class UsageSchedule(IOptions<UsageOptions> options) : IModuleSchedule
{
    public void Schedule(IScheduler scheduler) =>
        scheduler.Schedule<RawEventRetentionJob>().Cron(options.Value.PurgeCron).PreventOverlapping(nameof(RawEventRetentionJob));
}
