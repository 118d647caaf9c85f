using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using Npgsql;
using NpgsqlTypes;
using Ops.Benchmarks.Infrastructure;
using Ops.Modules.Usage.Ingestion;
using Ops.Modules.Usage.Pricing;

namespace Ops.Benchmarks.Suites.Usage;

/// <summary>
/// Issue 3's ingestion target: batches of 1,000 over HTTP for 60 s with durable commits, the Api a real process,
/// next to (a) a raw binary COPY of the same rows into usage.events and (b) one INSERT per event, in the same run.
/// Measured twice: with the per-call audit event (the default) and without it, to show what the audit write costs.
/// Options: --seconds 60 --concurrency 6 --batch 1000 --copy-rows 500000 --insert-seconds 10 (--only no-audit: a profiling run).
/// </summary>
public sealed class UsageIngestSuite : IBenchSuite
{
    public string Name => "usage-ingest";

    public string Title => "Usage ingestion over HTTP vs raw COPY and single INSERTs";

    public async Task<string> RunAsync(BenchContext context, CancellationToken cancellationToken)
    {
        var seconds = context.IntOption("seconds", 60);
        var concurrency = context.IntOption("concurrency", 6);
        var batchSize = context.IntOption("batch", 1000);
        var copyRows = context.IntOption("copy-rows", 500_000);
        var insertSeconds = context.IntOption("insert-seconds", 10);
        var cluster = await context.PostgresAsync();
        var templates = new UsageEventTemplates(64, batchSize, users: 5_000, seed: 42);

        var withoutAudit = await MeasureHttpAsync(context, cluster.DataDirectory, templates, concurrency, seconds, audit: false);
        Console.WriteLine($"HTTP, audit off: {withoutAudit.Load.EventsPerSecond:N0} events/s");
        if (context.Options.GetValueOrDefault("only") == "no-audit")
        {
            return "(profiling run: not recorded)";
        }

        var withAudit = await MeasureHttpAsync(context, cluster.DataDirectory, templates, concurrency, seconds, audit: true);
        Console.WriteLine($"HTTP, audit on: {withAudit.Load.EventsPerSecond:N0} events/s");

        var connectionString = withAudit.ConnectionString;
        var rows = await PricedRowsAsync(connectionString, templates, copyRows);
        var copy = await MeasureCopyAsync(connectionString, rows, cluster.DataDirectory);
        Console.WriteLine($"raw COPY: {copy.RowsPerSecond:N0} rows/s");
        var insert = await MeasureSingleInsertsAsync(connectionString, rows, TimeSpan.FromSeconds(insertSeconds), cluster.DataDirectory);
        Console.WriteLine($"single INSERT: {insert.RowsPerSecond:N0} rows/s");

        string Http(string name, IngestLoadResult r)
        {
            var cpu = r.CpuMsPerThousand;
            return $"| {name} | {r.Accepted:N0} | {r.Elapsed.TotalSeconds:N1} | **{r.EventsPerSecond:N0}** | {r.EventsPerSecond / copy.RowsPerSecond:P0} | "
                   + $"{cpu.Api:N1} | {cpu.Postgres:N1} | {cpu.Driver:N1} | {r.P50Ms:N0} / {r.P99Ms:N0} | {r.CatchUp.TotalSeconds:N1} s | {r.PeakRssMiB:N0} MiB |";
        }

        string Baseline(string name, Baseline b) =>
            $"| {name} | {b.Rows:N0} | {b.Elapsed.TotalSeconds:N1} | {b.RowsPerSecond:N0} | {b.RowsPerSecond / copy.RowsPerSecond:P0} | – | {b.PostgresCpuMsPerThousand:N1} | {b.DriverCpuMsPerThousand:N1} | – | – | – |";

        return new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"Batches of {batchSize:N0} events (5,000 users, 3 models, 20 agents, 3 channels, sessions, 2 % errors, 5 % feedback, 10 % metadata) posted by {concurrency} concurrent clients for {seconds} s to the Api process; durable commits (fsync on). Each accepted event is validated, priced, COPYed into `usage.events` and audited in one transaction per request; the background fold adds it to the hourly, daily, per-user, DAU, activity and error rollups (sketches included) about every second. Target: ≥ 100,000 events/s. CPU columns: CPU milliseconds per 1,000 events spent by each process from the first request until the rollups held every event (2 cores shared by all three); \"rollups caught up after\": how long after the last request the fold finished.")
            .AppendLine()
            .AppendLine("| Path | Events | Seconds | Events/s | vs raw COPY | Api CPU ms/1k | Postgres CPU ms/1k | Driver CPU ms/1k | Request p50 / p99 ms | Rollups caught up after | Api peak RSS |")
            .AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
            .AppendLine(Http("HTTP ingest, with one audit event per call (default)", withAudit.Load))
            .AppendLine(Http("HTTP ingest, `AuditEvents=false`", withoutAudit.Load))
            .AppendLine(Baseline("(a) raw binary COPY of the same rows into `usage.events` (one COPY)", copy))
            .AppendLine(Baseline("(b) one INSERT per event (autocommit)", insert))
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"Exactly once: after the audited run, `usage.events` holds {withAudit.StoredEvents:N0} rows and every rollup counts {withAudit.RollupRequests:N0} requests for the {withAudit.Load.Accepted + withAudit.WarmupAccepted:N0} events accepted (warm-up included); {withAudit.AuditRows:N0} audit events.")
            .AppendLine()
            .AppendLine(Analysis(withAudit.Load, withoutAudit.Load, copy))
            .ToString();
    }

    /// <summary>The bottleneck analysis, from this run's figures.</summary>
    private static string Analysis(IngestLoadResult audited, IngestLoadResult plain, Baseline copy)
    {
        var (apiPlain, pgPlain, _) = plain.CpuMsPerThousand;
        var (apiAudit, pgAudit, _) = audited.CpuMsPerThousand;
        return string.Create(CultureInfo.InvariantCulture, $"""
            **Where the time goes** (CPU per 1,000 events, from the table): without the audit write an event costs the Api {apiPlain:N1} ms (read and validate the JSON, price, binary COPY) and Postgres {pgPlain:N1} ms, of which {copy.PostgresCpuMsPerThousand:N1} ms is the COPY itself (baseline a); the rest is the three indexes of `usage.events` and the rollup fold (ADR 0023). The fold aggregates about a second of events in one set-based statement; its cost is one row upsert per distinct (hour, model, provider, agent, channel), (user, day, model) and (user, session, agent, channel, model) key per fold — with this load's 5,000 users × 4 sessions × 3 models that is about one upsert for every two events, the largest part of Postgres's share. On 2 cores shared with the Api and the driver the fold does not keep up with {plain.EventsPerSecond:N0} events/s: the rollups held every event {plain.CatchUp.TotalSeconds:N0} s after the load stopped (nothing is lost or delayed for the client: raw events are committed when the request returns; rollups lag, then catch up). With one transaction per request touching the rollups instead (the first design), concurrent requests serialised on the hot rollup rows and the ingestion ran at about 4,400 events/s.

            The audit write (one audit event per call, `IAuditWriter.WriteManyAsync` in the ingestion transaction) adds {apiAudit - apiPlain:N1} ms of Api CPU (building the events; the Audit module redacts every string with three regular expressions) and {pgAudit - pgPlain:N1} ms of Postgres CPU (an `unnest` insert into the day-partitioned `audit.events` (three indexes) plus `audit.event_keys` (two), JSONB details) per 1,000 events, so the default configuration reaches {audited.EventsPerSecond:N0} events/s and `AuditEvents=false` {plain.EventsPerSecond:N0}. That bulk path belongs to the Audit module (a binary COPY into a staging table, and redacting only the strings that can hold personal data, would be its levers). The Api stays at {Math.Max(audited.PeakRssMiB, plain.PeakRssMiB):N0} MiB RSS: bulk bodies are read into pooled buffers and events stream into the COPY.
            """);
    }

    private sealed record HttpRun(string ConnectionString, IngestLoadResult Load, long WarmupAccepted, long StoredEvents, long RollupRequests, long AuditRows);

    private sealed record Baseline(long Rows, TimeSpan Elapsed, double PostgresCpuSeconds, double DriverCpuSeconds)
    {
        public double RowsPerSecond => Rows / Elapsed.TotalSeconds;
        public double PostgresCpuMsPerThousand => PostgresCpuSeconds * 1e6 / Rows;
        public double DriverCpuMsPerThousand => DriverCpuSeconds * 1e6 / Rows;
    }

    private static async Task<HttpRun> MeasureHttpAsync(BenchContext context, string dataDirectory, UsageEventTemplates templates, int concurrency, int seconds, bool audit)
    {
        var connectionString = await context.CreateDatabaseAsync(audit ? "usage_ingest_audit" : "usage_ingest_noaudit");
        await using var server = await ApiServer.StartAsync(connectionString, new Dictionary<string, string> { ["Modules__Usage__AuditEvents"] = audit ? "true" : "false" });
        var key = await CreateIngestKeyAsync(server, "bench");
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var rolledUp = () => RolledUpAsync(dataSource, "bench");
        var warmup = await IngestLoad.RunAsync(server, dataDirectory, key, templates, "w", concurrency, TimeSpan.FromSeconds(5), rolledUp);
        await CheckpointAsync(connectionString);
        var load = await IngestLoad.RunAsync(server, dataDirectory, key, templates, "m", concurrency, TimeSpan.FromSeconds(seconds), rolledUp, warmup.Accepted);

        await using var connection = await dataSource.OpenConnectionAsync();
        var stored = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM usage.events WHERE tenant_id = 'bench'");
        var rolled = await connection.ExecuteScalarAsync<long>(
            """
            SELECT least((SELECT sum(requests) FROM usage.hourly_rollup WHERE tenant_id = 'bench'), (SELECT sum(requests) FROM usage.daily_rollup WHERE tenant_id = 'bench'),
                         (SELECT sum(requests) FROM usage.usage_daily WHERE tenant_id = 'bench'), (SELECT sum(requests) FROM usage.activity_daily WHERE tenant_id = 'bench'))::bigint
            """);
        var audited = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM audit.events WHERE tenant_id = 'bench' AND request_id IS NOT NULL");
        if (stored != load.Accepted + warmup.Accepted || rolled != stored)
        {
            throw new InvalidOperationException($"Exactly-once violated: accepted {load.Accepted + warmup.Accepted}, stored {stored}, rolled up {rolled}.");
        }

        return new HttpRun(connectionString, load, warmup.Accepted, stored, rolled, audited);
    }

    /// <summary>Events the fold has put into the rollups (its watermark's count).</summary>
    internal static async Task<long> RolledUpAsync(NpgsqlDataSource dataSource, string tenant)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<long?>("SELECT folded_events FROM usage.rollup_watermarks WHERE tenant_id = @tenant", new { tenant }) ?? 0;
    }

    /// <summary>The same rows the Api stores: the templates read, validated and priced by the module's own code.</summary>
    private static async Task<List<UsageEvent>> PricedRowsAsync(string connectionString, UsageEventTemplates templates, int count)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var snapshot = await new PricingCatalog(dataSource).GetCurrentAsync(CancellationToken.None);
        var context = new EventReadContext(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5), 8 * 1024, "baseline", BuiltInRedactionPolicies.CreateRedactor());
        var rows = new List<UsageEvent>(count);
        var buffer = new byte[templates.MaxBodyBytes];
        var errors = new List<FieldError>();
        for (long batch = 0; rows.Count < count; batch++)
        {
            using var document = JsonDocument.Parse(templates.Render(batch, "c", buffer));
            var index = 0;
            foreach (var element in document.RootElement.EnumerateArray())
            {
                rows.Add(UsageEventReader.Read(element, index++, context, errors) ?? throw new InvalidOperationException(string.Join(", ", errors)));
            }
        }

        EventPricer.Price(snapshot, "baseline", [], rows);
        return rows.Take(count).ToList();
    }

    private static async Task<Baseline> MeasureCopyAsync(string connectionString, List<UsageEvent> rows, string dataDirectory)
    {
        await CheckpointAsync(connectionString);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var (pg0, me0) = (ProcessCpu.OfPostgres(dataDirectory), ProcessCpu.OfThisProcess());
        var stopwatch = Stopwatch.StartNew();
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await EventCopier.CopyAsync(connection, "baseline-copy", rows, DateTimeOffset.UtcNow, CancellationToken.None);
            await transaction.CommitAsync();
        }

        var elapsed = stopwatch.Elapsed;
        return new Baseline(rows.Count, elapsed, ProcessCpu.OfPostgres(dataDirectory) - pg0, ProcessCpu.OfThisProcess() - me0);
    }

    private static async Task<Baseline> MeasureSingleInsertsAsync(string connectionString, List<UsageEvent> rows, TimeSpan duration, string dataDirectory)
    {
        await CheckpointAsync(connectionString);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var insert = new NpgsqlCommand(
            """
            INSERT INTO usage.events (tenant_id, request_id, ts, received_at, tokens_in, tokens_out, cache_read_tokens, cache_write_tokens,
                latency_ms, ttft_ms, is_error, unpriced, user_id, model, provider, action, session_id, agent_id, channel, error_type,
                severity, cost_usd, reported_cost_usd, pricing_version, feedback, metadata)
            VALUES ('baseline-insert', $1, $2, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)
            """,
            connection);
        NpgsqlDbType[] types =
        [
            NpgsqlDbType.Text, NpgsqlDbType.TimestampTz, NpgsqlDbType.Integer, NpgsqlDbType.Integer, NpgsqlDbType.Integer, NpgsqlDbType.Integer,
            NpgsqlDbType.Integer, NpgsqlDbType.Integer, NpgsqlDbType.Boolean, NpgsqlDbType.Boolean, NpgsqlDbType.Text, NpgsqlDbType.Text,
            NpgsqlDbType.Text, NpgsqlDbType.Text, NpgsqlDbType.Text, NpgsqlDbType.Text, NpgsqlDbType.Text, NpgsqlDbType.Text, NpgsqlDbType.Text,
            NpgsqlDbType.Numeric, NpgsqlDbType.Numeric, NpgsqlDbType.Text, NpgsqlDbType.Text, NpgsqlDbType.Jsonb,
        ];
        foreach (var type in types)
        {
            insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = type });
        }

        await insert.PrepareAsync();
        var (pg0, me0) = (ProcessCpu.OfPostgres(dataDirectory), ProcessCpu.OfThisProcess());
        var stopwatch = Stopwatch.StartNew();
        var inserted = 0;
        while (stopwatch.Elapsed < duration && inserted < rows.Count)
        {
            var e = rows[inserted++];
            object?[] values =
            [
                e.RequestId, e.Timestamp.UtcDateTime, e.TokensIn, e.TokensOut, e.CacheReadTokens, e.CacheWriteTokens, e.LatencyMs, e.TtftMs,
                e.IsError, e.Unpriced, e.UserId, e.Model, e.Provider, e.Action, e.SessionId, e.AgentId, e.Channel, e.ErrorType, e.Severity,
                e.CostUsd, e.ReportedCostUsd, e.PricingVersion, e.Feedback, e.MetadataJson,
            ];
            for (var i = 0; i < values.Length; i++)
            {
                insert.Parameters[i].Value = values[i] ?? DBNull.Value;
            }

            await insert.ExecuteNonQueryAsync();
        }

        var elapsed = stopwatch.Elapsed;
        return new Baseline(inserted, elapsed, ProcessCpu.OfPostgres(dataDirectory) - pg0, ProcessCpu.OfThisProcess() - me0);
    }

    /// <summary>Creates the tenant and an ingest key for it through the admin API.</summary>
    internal static Task<string> CreateIngestKeyAsync(ApiServer server, string tenantId) => CreateTenantKeyAsync(server, tenantId, "ingest");

    /// <summary>Creates the tenant and an API key of it with <paramref name="role"/>; returns the key.</summary>
    internal static async Task<string> CreateTenantKeyAsync(ApiServer server, string tenantId, string role)
    {
        using var admin = server.CreateClient(ApiServer.AdminKey);
        (await admin.PostAsJsonAsync("/v1/admin/tenants", new { id = tenantId, name = tenantId })).EnsureSuccessStatusCode();
        var response = await admin.PostAsJsonAsync("/v1/admin/keys", new { tenant_id = tenantId, name = "load", roles = new[] { role } });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["key"]!.GetValue<string>();
    }

    /// <summary>Starts each measurement from a clean checkpoint so one run's dirty pages do not tax the next.</summary>
    private static async Task CheckpointAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var checkpoint = new NpgsqlCommand("CHECKPOINT", connection);
        await checkpoint.ExecuteNonQueryAsync();
    }
}
