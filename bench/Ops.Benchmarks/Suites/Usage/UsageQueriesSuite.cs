using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using Npgsql;
using NpgsqlTypes;
using Ops.Benchmarks.Infrastructure;

namespace Ops.Benchmarks.Suites.Usage;

/// <summary>
/// Issue 4's read targets. N events (default 10,000,000) over the last 30 days from 5,000 users are loaded by the bulk
/// equivalent of ingestion (binary COPY into <c>usage.events</c>, in transactions of 100,000) and the Api's own fold
/// builds the rollups. Then, over HTTP against the Api process: the medians of <c>GET /v1/dashboard/stats</c> and
/// <c>GET /v1/usage/metrics?period=30d&amp;group_by=day</c>, each next to its baseline on the same data in the same run —
/// the seed's dashboard SQL on seed-shaped tables (requests, errors, usage_daily) built from the same events, and the
/// naive 30-day <c>percentile_cont</c> and <c>COUNT(DISTINCT user_id)</c> on the raw events — and the sketch p95s
/// against the exact ones. Options: --events 10000000 --users 5000 --runs 50; --hold 1 prints the database and Api
/// addresses once the data is in and waits until the file /tmp/bench-release exists (to inspect plans by hand).
/// </summary>
public sealed class UsageQueriesSuite : IBenchSuite
{
    private const string Tenant = "bench";
    private const int ChunkEvents = 100_000;
    private const int ApiWarmup = 100;
    private static readonly (string Model, decimal In, decimal Out)[] Models =
        [("claude-sonnet-4-7", 3m, 15m), ("claude-haiku-4-7", 0.8m, 4m), ("claude-opus-4-7", 15m, 75m)];
    private static readonly string[] Channels = ["slack", "whatsapp", "web", "email"];

    public string Name => "usage-queries";

    public string Title => "Usage reads: dashboard stats and 30-day metrics from the rollups";

    public async Task<string> RunAsync(BenchContext context, CancellationToken cancellationToken)
    {
        var events = context.IntOption("events", 10_000_000);
        var users = context.IntOption("users", 5_000);
        var runs = context.IntOption("runs", 50);
        var connectionString = await context.CreateDatabaseAsync("usage_queries");
        await using var server = await ApiServer.StartAsync(connectionString);
        var readKey = await UsageIngestSuite.CreateTenantKeyAsync(server, Tenant, "read");
        await using var dataSource = NpgsqlDataSource.Create(connectionString);

        var now = DateTimeOffset.UtcNow;
        var load = Stopwatch.StartNew();
        await LoadAsync(dataSource, events, users, now);
        var loadSeconds = load.Elapsed.TotalSeconds;
        var fold = Stopwatch.StartNew();
        while (await UsageIngestSuite.RolledUpAsync(dataSource, Tenant) < events)
        {
            if (fold.Elapsed > TimeSpan.FromHours(2))
            {
                throw new TimeoutException("The fold did not catch up within 2 hours.");
            }

            await Task.Delay(500);
        }

        var foldSeconds = fold.Elapsed.TotalSeconds;
        await using var connection = await dataSource.OpenConnectionAsync();
        await BuildSeedTablesAsync(connection);
        await connection.ExecuteAsync("VACUUM ANALYZE", commandTimeout: 0);
        // The load and the vacuum leave gigabytes of dirty pages: flush them now, not during the measured calls.
        await connection.ExecuteAsync("CHECKPOINT", commandTimeout: 0, commandType: System.Data.CommandType.Text);
        var rollupRows = await connection.QuerySingleAsync<(long Daily, long Hourly, long Activity)>(
            """
            SELECT (SELECT count(*) FROM usage.daily_rollup), (SELECT count(*) FROM usage.hourly_rollup), (SELECT count(*) FROM usage.activity_daily)
            """);

        using var client = server.CreateClient(readKey);
        if (context.Options.ContainsKey("hold"))
        {
            Console.WriteLine($"HOLD {connectionString} key={readKey} url={server.BaseAddress}");
            while (!File.Exists("/tmp/bench-release"))
            {
                await Task.Delay(1000);
            }
        }
        var statsMs = await MedianAsync(runs, () => GetAsync(client, "/v1/dashboard/stats"), ApiWarmup);
        var metricsPath = "/v1/usage/metrics?period=30d&group_by=day";
        var metricsMs = await MedianAsync(runs, () => GetAsync(client, metricsPath), ApiWarmup);
        var baselineRuns = Math.Max(3, runs / 10);
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var seedMs = await MedianAsync(baselineRuns, () => connection.ExecuteAsync(SeedDashboardSql, new { today, yesterday = today.AddDays(-1) }, commandTimeout: 0));
        var from = now.AddDays(-30);
        var naiveP95Ms = await MedianAsync(baselineRuns, () => connection.ExecuteAsync(
            "SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) FROM usage.events WHERE tenant_id = @Tenant AND ts >= @from",
            new { Tenant, from }, commandTimeout: 0));
        var naiveDistinctMs = await MedianAsync(baselineRuns, () => connection.ExecuteAsync(
            "SELECT count(DISTINCT user_id) FROM usage.events WHERE tenant_id = @Tenant AND ts >= @from", new { Tenant, from }, commandTimeout: 0));

        var (worstDay, whole, wholeExact) = await AccuracyAsync(client, connection, metricsPath);

        return new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"{events:N0} events over the 30 days before the run from {users:N0} users (3 models, 20 agents, 4 channels, 2 sessions per user and day; log-normal latencies, 2 % errors), loaded by binary COPY into `usage.events` in {loadSeconds:N0} s; the Api's fold built the rollups in {foldSeconds:N0} s more ({rollupRows.Daily:N0} daily, {rollupRows.Hourly:N0} hourly, {rollupRows.Activity:N0} activity rows). Medians over HTTP to the Api process (Kestrel on loopback), {runs} runs after {ApiWarmup} warm-up calls (the Api's JIT tiers up, as in a server that has been running); baselines are single SQL statements on the same database ({baselineRuns} runs).")
            .AppendLine()
            .AppendLine("| Question | Ops (rollups, over HTTP) | Baseline (same data, same run) | Target |")
            .AppendLine("|---|---:|---:|---|")
            .AppendLine(CultureInfo.InvariantCulture, $"| `GET /v1/dashboard/stats` | {statsMs:N1} ms | the seed's dashboard SQL on seed-shaped tables: {seedMs:N1} ms | median ≤ 10 ms |")
            .AppendLine(CultureInfo.InvariantCulture, $"| `GET {metricsPath}` | {metricsMs:N1} ms | naive 30-day `percentile_cont`: {naiveP95Ms:N1} ms; naive `COUNT(DISTINCT user_id)`: {naiveDistinctMs:N1} ms | median ≤ 50 ms |")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"p95 latency from the sketches vs exact `percentile_cont` on the raw events: whole 30 days {whole:N1} ms vs {wholeExact:N1} ms ({Math.Abs(whole - wholeExact) / wholeExact:P3}); worst day of the endpoint's `time_series` {worstDay:P3} (target ≤ 1 %).")
            .ToString();
    }

    /// <summary>The seed's <c>GET /dashboard/stats</c> query (seed 000), verbatim but for the schema.</summary>
    private const string SeedDashboardSql = """
        SELECT
          (SELECT COUNT(DISTINCT user_id) FROM seed.requests WHERE day = @today) AS dau_today,
          (SELECT COUNT(DISTINCT user_id) FROM seed.requests WHERE day = @yesterday) AS dau_yesterday,
          (SELECT COALESCE(SUM(cost_usd), 0) FROM seed.usage_daily WHERE day = @today) AS cost_today,
          (SELECT COUNT(*) FROM seed.errors WHERE ts > NOW() - INTERVAL '24 hours') AS errors_24h,
          (SELECT COUNT(*) FROM seed.errors WHERE ts > NOW() - INTERVAL '24 hours' AND severity = 'critical') AS crit_24h,
          (SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) FROM seed.requests WHERE day = @today) AS p95_ms
        """;

    /// <summary>The seed's tables, with the seed's indexes (and a day index on requests, an ts index on errors), from the same events.</summary>
    private static async Task BuildSeedTablesAsync(NpgsqlConnection connection) => await connection.ExecuteAsync(
        """
        CREATE SCHEMA seed;
        CREATE TABLE seed.requests AS
            SELECT user_id, (ts AT TIME ZONE 'UTC')::date AS day, ts, model, tokens_in, tokens_out, latency_ms, cost_usd FROM usage.events;
        CREATE INDEX ON seed.requests (day);
        CREATE TABLE seed.errors AS SELECT ts, user_id, coalesce(severity, 'warning') AS severity, error_type FROM usage.events WHERE is_error;
        CREATE INDEX ON seed.errors (ts);
        CREATE TABLE seed.usage_daily (
            user_id TEXT NOT NULL, day DATE NOT NULL, model TEXT NOT NULL, tokens_in BIGINT NOT NULL DEFAULT 0, tokens_out BIGINT NOT NULL DEFAULT 0,
            requests INT NOT NULL DEFAULT 0, cost_usd NUMERIC(10,6) NOT NULL DEFAULT 0, pricing_ver TEXT NOT NULL, updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            PRIMARY KEY (user_id, day, model));
        INSERT INTO seed.usage_daily (user_id, day, model, tokens_in, tokens_out, requests, cost_usd, pricing_ver)
            SELECT user_id, (ts AT TIME ZONE 'UTC')::date, model, sum(tokens_in), sum(tokens_out), count(*), sum(cost_usd), max(pricing_version)
            FROM usage.events GROUP BY 1, 2, 3;
        CREATE INDEX idx_usage_day ON seed.usage_daily (day);
        CREATE INDEX idx_usage_user_month ON seed.usage_daily (user_id, date_trunc('month', day::timestamp));
        """,
        commandTimeout: 0);

    /// <summary>Sketch p95 vs exact: the endpoint's per-day time series against percentile_cont per day, and the whole window.</summary>
    private static async Task<(double WorstDay, double Whole, double WholeExact)> AccuracyAsync(HttpClient client, NpgsqlConnection connection, string metricsPath)
    {
        var body = JsonNode.Parse(await (await client.GetAsync(metricsPath)).EnsureSuccessStatusCode().Content.ReadAsStringAsync())!;
        var period = body["period"]!;
        var (from, to) = (period["from"]!.GetValue<DateTimeOffset>(), period["to"]!.GetValue<DateTimeOffset>());
        var exact = (await connection.QueryAsync<(DateTime Day, double P95)>(
            """
            SELECT date_trunc('day', ts, 'UTC'), percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms)
            FROM usage.events WHERE tenant_id = @Tenant AND ts >= @from AND ts < @to AND latency_ms IS NOT NULL GROUP BY 1
            """,
            new { Tenant, from, to },
            commandTimeout: 0)).ToDictionary(r => new DateTimeOffset(DateTime.SpecifyKind(r.Day, DateTimeKind.Utc)), r => r.P95);
        var worst = body["time_series"]!.AsArray()
            .Where(p => p!["p95_latency_ms"] is not null)
            .Max(p => Math.Abs(p!["p95_latency_ms"]!.GetValue<double>() - exact[p["timestamp"]!.GetValue<DateTimeOffset>()]) / exact[p["timestamp"]!.GetValue<DateTimeOffset>()]);
        var whole = await connection.QuerySingleAsync<(double Sketch, double Exact)>(
            """
            SELECT (SELECT usage.sketch_quantile(usage.sketch_union(latency_sketch), 0.95) FROM usage.daily_rollup WHERE tenant_id = @Tenant),
                   (SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) FROM usage.events WHERE tenant_id = @Tenant)
            """,
            new { Tenant },
            commandTimeout: 0);
        return (worst, whole.Sketch, whole.Exact);
    }

    private static async Task GetAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        response.EnsureSuccessStatusCode();
        await response.Content.ReadAsByteArrayAsync();
    }

    /// <summary>
    /// The median of <paramref name="runs"/> calls after <paramref name="warmup"/> others and a pause: enough calls for
    /// .NET's tiered JIT to recompile the Api's hot paths optimised (30 calls, then a background rejit), as in a server
    /// that has been up for a while. SQL baselines need a warm-up or two (caches), not a hundred. In ms.
    /// </summary>
    private static async Task<double> MedianAsync(int runs, Func<Task> call, int warmup = 2)
    {
        for (var i = 0; i < warmup; i++)
        {
            await call();
        }

        await Task.Delay(warmup > 2 ? 1_000 : 0);
        var times = new List<double>(runs);
        for (var i = 0; i < runs; i++)
        {
            var stopwatch = Stopwatch.StartNew();
            await call();
            times.Add(stopwatch.Elapsed.TotalMilliseconds);
        }

        times.Sort();
        return times.Count % 2 == 1 ? times[times.Count / 2] : (times[(times.Count / 2) - 1] + times[times.Count / 2]) / 2;
    }

    /// <summary>Binary COPY of generated, priced events in time order, one transaction per chunk (each chunk becomes one fold chunk).</summary>
    private static async Task LoadAsync(NpgsqlDataSource dataSource, int events, int users, DateTimeOffset now)
    {
        var start = now.AddDays(-30);
        var span = (now - start).Ticks - TimeSpan.TicksPerMinute;
        var random = new Random(4);
        for (var done = 0; done < events; done += ChunkEvents)
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await using (var copy = await connection.BeginBinaryImportAsync(
                """
                COPY usage.events (tenant_id, request_id, ts, received_at, tokens_in, tokens_out, cache_read_tokens, cache_write_tokens, latency_ms, ttft_ms,
                    is_error, unpriced, user_id, model, provider, action, session_id, agent_id, channel, error_type, severity, cost_usd, pricing_version, feedback)
                FROM STDIN (FORMAT BINARY)
                """))
            {
                for (var i = done; i < Math.Min(events, done + ChunkEvents); i++)
                {
                    // In time order, as ingestion sees them (each fold chunk covers a few hours, not all 30 days).
                    var ts = start.AddTicks((long)((i + random.NextDouble()) * span / events));
                    var user = random.Next(users);
                    var (model, rateIn, rateOut) = Models[random.Next(Models.Length)];
                    var tokensIn = 200 + random.Next(4_000);
                    var tokensOut = 50 + random.Next(1_000);
                    var normal = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
                    var latency = (int)Math.Round(Math.Exp(7.3 + (0.8 * normal)));
                    var error = random.Next(50) == 0;
                    var feedback = random.Next(20) switch { 0 => "up", 1 => "down", _ => null };
                    await copy.StartRowAsync();
                    await copy.WriteAsync(Tenant, NpgsqlDbType.Text);
                    await copy.WriteAsync($"q{i:D9}", NpgsqlDbType.Text);
                    await copy.WriteAsync(ts.UtcDateTime, NpgsqlDbType.TimestampTz);
                    await copy.WriteAsync(ts.UtcDateTime, NpgsqlDbType.TimestampTz);
                    await copy.WriteAsync(tokensIn, NpgsqlDbType.Integer);
                    await copy.WriteAsync(tokensOut, NpgsqlDbType.Integer);
                    await copy.WriteAsync(0, NpgsqlDbType.Integer);
                    await copy.WriteAsync(0, NpgsqlDbType.Integer);
                    await copy.WriteAsync(latency, NpgsqlDbType.Integer);
                    await copy.WriteAsync(latency / 5, NpgsqlDbType.Integer);
                    await copy.WriteAsync(error, NpgsqlDbType.Boolean);
                    await copy.WriteAsync(false, NpgsqlDbType.Boolean);
                    await copy.WriteAsync($"u{user}", NpgsqlDbType.Text);
                    await copy.WriteAsync(model, NpgsqlDbType.Text);
                    await copy.WriteAsync("anthropic", NpgsqlDbType.Text);
                    await copy.WriteAsync("chat.reply", NpgsqlDbType.Text);
                    await copy.WriteAsync($"s{user}-{ts:yyyyMMdd}-{random.Next(2)}", NpgsqlDbType.Text);
                    await copy.WriteAsync($"agent-{user % 20}", NpgsqlDbType.Text);
                    await copy.WriteAsync(Channels[user % Channels.Length], NpgsqlDbType.Text);
                    await WriteNullableAsync(copy, error ? "timeout" : null);
                    await WriteNullableAsync(copy, error ? (random.Next(10) == 0 ? "critical" : "warning") : null);
                    await copy.WriteAsync(((tokensIn * rateIn) + (tokensOut * rateOut)) / 1_000_000m, NpgsqlDbType.Numeric);
                    await copy.WriteAsync("2026-04-15", NpgsqlDbType.Text);
                    await WriteNullableAsync(copy, feedback);
                }

                await copy.CompleteAsync();
            }

            await transaction.CommitAsync();
        }
    }

    private static Task WriteNullableAsync(NpgsqlBinaryImporter copy, string? value) =>
        value is null ? copy.WriteNullAsync() : copy.WriteAsync(value, NpgsqlDbType.Text);
}
