using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Ops.Modules.Shared.Notifications;

namespace Ops.Modules.Usage.Ingestion;

/// <summary>
/// Folds committed raw events into the rollups, exactly once (ADR 0023). Each event carries the id of the
/// transaction that inserted it (txid); per tenant, <c>usage.rollup_watermarks.folded_below</c> says every event
/// with a smaller txid is in the rollups and no other. A fold takes the events with txid in [folded_below, end),
/// where end ≤ the snapshot xmin (no transaction below it is still running, and xids only grow, so no event can
/// ever appear below end again), adds them to every rollup and moves folded_below to end — in one transaction.
/// A crash rolls both back; concurrent folders (several instances) take the tenant's watermark row in turn.
/// Every instance runs the loop every <see cref="UsageOptions.RollupIntervalMs"/>; many batches fold together, so
/// hot rollup rows are written once per fold instead of once per request, and Postgres aggregates the chunk in
/// place (<see cref="FoldSql"/>).
/// </summary>
internal sealed partial class RollupFolder(
    NpgsqlDataSource dataSource, TimeProvider time, IOptions<UsageOptions> options, IChangeFeed changeFeed, ILogger<RollupFolder> logger)
    : BackgroundService
{
    /// <summary>
    /// The change-feed topic a fold publishes (payload: the tenant id) in its transaction, so every instance hears of new
    /// rollup data when, and only if, it commits: what the live stream (<c>GET /v1/usage/stream</c>) refreshes on.
    /// </summary>
    public const string FoldedTopic = "usage.folded";

    private const string PendingTenantsSql = """
        WITH RECURSIVE tenants AS (
            (SELECT tenant_id FROM usage.events ORDER BY tenant_id LIMIT 1)
            UNION ALL
            SELECT (SELECT e.tenant_id FROM usage.events e WHERE e.tenant_id > t.tenant_id ORDER BY e.tenant_id LIMIT 1)
            FROM tenants t WHERE t.tenant_id IS NOT NULL
        )
        SELECT t.tenant_id FROM tenants t LEFT JOIN usage.rollup_watermarks w USING (tenant_id)
        WHERE t.tenant_id IS NOT NULL
          AND EXISTS (SELECT 1 FROM usage.events e
                      WHERE e.tenant_id = t.tenant_id AND e.txid >= coalesce(w.folded_below, '0'::xid8) AND e.txid < @safe::text::xid8)
        """;

    /// <summary>Folds what is pending now; returns how many events it folded. Tenants another folder holds are skipped.</summary>
    public Task<long> FoldPendingAsync(CancellationToken cancellationToken) => FoldAsync(wait: false, cancellationToken);

    /// <summary>
    /// Folds every event committed before the call (waiting for transactions still running from before it, and for
    /// other folders): what tests and benchmarks call before reading rollups.
    /// </summary>
    public async Task<long> FoldAllCommittedAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var target = await ScalarAsync<long>(connection, "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint", cancellationToken);
        while (await ScalarAsync<long>(connection, "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint", cancellationToken) < target)
        {
            await Task.Delay(10, cancellationToken); // infrastructure wait for unrelated transactions, not business time
        }

        return await FoldAsync(wait: true, cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // A cadence, not business time: the real clock paces the loop even when tests fake the business clock.
                await Task.Delay(options.Value.RollupIntervalMs, stoppingToken);
                await FoldPendingAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
#pragma warning disable CA1031 // The loop must survive a failed pass (database restart, …); the next pass retries.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogFoldFailed(logger, ex);
            }
        }
    }

    private async Task<long> FoldAsync(bool wait, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var safe = await ScalarAsync<long>(connection, "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint", cancellationToken);
        var tenants = new List<string>();
        await using (var command = new NpgsqlCommand(PendingTenantsSql, connection))
        {
            command.Parameters.AddWithValue("safe", safe);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                tenants.Add(reader.GetString(0));
            }
        }

        long folded = 0;
        foreach (var tenant in tenants)
        {
            folded += await FoldTenantAsync(connection, tenant, safe, wait, cancellationToken);
        }

        return folded;
    }

    /// <summary>Folds one tenant up to <paramref name="safe"/>, one transaction per chunk of at most RollupMaxEventsPerFold events.</summary>
    private async Task<long> FoldTenantAsync(NpgsqlConnection connection, string tenant, long safe, bool wait, CancellationToken cancellationToken)
    {
        long folded = 0;
        while (true)
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using (var ensure = new NpgsqlCommand("INSERT INTO usage.rollup_watermarks (tenant_id, folded_below) VALUES (@tenant, '0') ON CONFLICT DO NOTHING", connection, transaction))
            {
                ensure.Parameters.AddWithValue("tenant", tenant);
                await ensure.ExecuteNonQueryAsync(cancellationToken);
            }

            long? low;
            await using (var lockRow = new NpgsqlCommand(
                $"SELECT folded_below::text::bigint FROM usage.rollup_watermarks WHERE tenant_id = @tenant FOR UPDATE{(wait ? string.Empty : " SKIP LOCKED")}", connection, transaction))
            {
                lockRow.Parameters.AddWithValue("tenant", tenant);
                low = (long?)await lockRow.ExecuteScalarAsync(cancellationToken);
            }

            if (low is null || low >= safe)
            {
                await transaction.CommitAsync(cancellationToken);
                return folded; // another folder has it, or nothing is left below the safe point
            }

            var end = await ChunkEndAsync(connection, transaction, tenant, low.Value, safe, cancellationToken);
            var count = await FoldChunkAsync(connection, transaction, tenant, low.Value, end, cancellationToken);

            await using (var advance = new NpgsqlCommand(
                "UPDATE usage.rollup_watermarks SET folded_below = @end::text::xid8, folded_events = folded_events + @count, folded_at = @now WHERE tenant_id = @tenant",
                connection,
                transaction))
            {
                advance.Parameters.AddWithValue("tenant", tenant);
                advance.Parameters.AddWithValue("end", end);
                advance.Parameters.AddWithValue("count", count);
                advance.Parameters.Add(new NpgsqlParameter("now", NpgsqlDbType.TimestampTz) { Value = time.GetUtcNow().UtcDateTime });
                await advance.ExecuteNonQueryAsync(cancellationToken);
            }

            if (count > 0)
            {
                await changeFeed.PublishAsync(FoldedTopic, tenant, connection, transaction, cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            folded += count;
            if (end >= safe)
            {
                return folded;
            }
        }
    }

    /// <summary>
    /// Where this chunk ends: the txid of the row after the first RollupMaxEventsPerFold, so a chunk never splits a
    /// transaction's events (the watermark is a txid); one larger transaction makes a chunk of its own.
    /// </summary>
    private async Task<long> ChunkEndAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string tenant, long low, long safe, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            SELECT txid::text::bigint FROM usage.events
            WHERE tenant_id = @tenant AND txid >= @low::text::xid8 AND txid < @safe::text::xid8
            ORDER BY txid OFFSET @max LIMIT 1
            """,
            connection,
            transaction);
        command.Parameters.AddWithValue("tenant", tenant);
        command.Parameters.AddWithValue("low", low);
        command.Parameters.AddWithValue("safe", safe);
        command.Parameters.AddWithValue("max", options.Value.RollupMaxEventsPerFold);
        var next = (long?)await command.ExecuteScalarAsync(cancellationToken);
        return next switch
        {
            null => safe,
            { } txid when txid == low => low + 1,
            { } txid => txid,
        };
    }

    /// <summary>Adds the chunk's events to every rollup in one statement (<see cref="FoldSql"/>); returns how many.</summary>
    private async Task<long> FoldChunkAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string tenant, long low, long end, CancellationToken cancellationToken)
    {
        // The chunk is materialized once for all the rollups; give it room so it stays in memory.
        await using (var memory = new NpgsqlCommand("SET LOCAL work_mem = '128MB'", connection, transaction))
        {
            await memory.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var command = new NpgsqlCommand(FoldSql.Chunk, connection, transaction) { CommandTimeout = 0 };
        command.Parameters.AddWithValue("tenant", tenant);
        command.Parameters.AddWithValue("low", low);
        command.Parameters.AddWithValue("end", end);
        command.Parameters.Add(new NpgsqlParameter("now", NpgsqlDbType.TimestampTz) { Value = time.GetUtcNow().UtcDateTime });
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Usage rollup fold failed; the next pass retries")]
    private static partial void LogFoldFailed(ILogger logger, Exception exception);
}
