using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Dapper;
using Npgsql;
using Ops.Benchmarks.Infrastructure;
using Ops.Modules.Usage.Sketches;

namespace Ops.Benchmarks.Suites.Usage;

/// <summary>
/// Issue 3's sketch target: 1M generated latencies (log-normal, long tail) ingested through the real Api, folded into
/// the rollups' sketches; p50/p95/p99 from the merged sketches vs the exact <c>percentile_cont</c> over the raw events,
/// in the same run. Options: --events 1000000 --concurrency 4.
/// </summary>
public sealed class SketchAccuracySuite : IBenchSuite
{
    private const string Tenant = "sketch";
    private static readonly double[] Quantiles = [0.50, 0.95, 0.99];

    public string Name => "sketch-accuracy";

    public string Title => "Latency sketches vs exact percentile_cont";

    public async Task<string> RunAsync(BenchContext context, CancellationToken cancellationToken)
    {
        var events = context.IntOption("events", 1_000_000);
        var concurrency = context.IntOption("concurrency", 4);
        var connectionString = await context.CreateDatabaseAsync("sketch_accuracy");
        await using var server = await ApiServer.StartAsync(connectionString);
        var key = await UsageIngestSuite.CreateIngestKeyAsync(server, Tenant);
        await IngestAsync(server, key, events, concurrency);

        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var wait = Stopwatch.StartNew();
        while (await UsageIngestSuite.RolledUpAsync(dataSource, Tenant) < events && wait.Elapsed < TimeSpan.FromMinutes(5))
        {
            await Task.Delay(200);
        }

        await using var connection = await dataSource.OpenConnectionAsync();
        await connection.ExecuteAsync("VACUUM ANALYZE usage.events");
        var sketchRows = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM usage.hourly_rollup WHERE tenant_id = @Tenant", new { Tenant });

        var (exact, exactMs) = await TimeAsync(async () => (await connection.QuerySingleAsync<double[]>(
            "SELECT percentile_cont(@q) WITHIN GROUP (ORDER BY latency_ms) FROM usage.events WHERE tenant_id = @Tenant",
            new { q = Quantiles, Tenant })));
        var (hourly, hourlyMs) = await TimeAsync(() => MergedAsync(connection, "hourly_rollup"));
        var (daily, dailyMs) = await TimeAsync(() => MergedAsync(connection, "daily_rollup"));
        var sqlQuantiles = await connection.QuerySingleAsync<(double, double, double)>(
            """
            SELECT usage.sketch_quantile(s, 0.5), usage.sketch_quantile(s, 0.95), usage.sketch_quantile(s, 0.99)
            FROM (SELECT usage.sketch_union(latency_sketch) AS s FROM usage.hourly_rollup WHERE tenant_id = @Tenant) u
            """,
            new { Tenant });
        double[] sql = [sqlQuantiles.Item1, sqlQuantiles.Item2, sqlQuantiles.Item3];

        var text = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"{events:N0} latencies (log-normal, median ≈ 1.5 s, long tail; integer ms) posted through `POST /v1/usage/events` and folded by the Api into {sketchRows:N0} hourly rollup rows (by model, provider, agent, channel). Exact: `percentile_cont` over the raw `usage.events`; sketch: the hourly (or daily) rows' sketches merged. Relative accuracy of the sketch: α = 1 %.")
            .AppendLine()
            .AppendLine("| Quantile | Exact `percentile_cont` (ms) | Sketch, hourly rows merged (ms) | Error | Sketch, daily rows merged (ms) | Error | `usage.sketch_quantile` in SQL (ms) | Error |")
            .AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        var worst = 0.0;
        for (var i = 0; i < Quantiles.Length; i++)
        {
            double Error(double estimate) => Math.Abs(estimate - exact[i]) / exact[i];
            var hourlyValue = hourly.Quantile(Quantiles[i])!.Value;
            var dailyValue = daily.Quantile(Quantiles[i])!.Value;
            worst = new[] { worst, Error(hourlyValue), Error(dailyValue), Error(sql[i]) }.Max();
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| p{Quantiles[i] * 100:0} | {exact[i]:N1} | {hourlyValue:N1} | {Error(hourlyValue):P2} | {dailyValue:N1} | {Error(dailyValue):P2} | {sql[i]:N1} | {Error(sql[i]):P2} |");
        }

        return text
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"Worst relative error: **{worst:P2}** (target ≤ 1 %). Time: exact `percentile_cont` over the {events:N0} raw rows {exactMs:N0} ms; merging the {sketchRows:N0} hourly sketches {hourlyMs:N0} ms; the daily ones {dailyMs:N0} ms.")
            .ToString();
    }

    /// <summary>Every row's latency sketch of a rollup, merged set-based in SQL (GROUP BY bucket), read as one sketch.</summary>
    private static async Task<LatencySketch> MergedAsync(NpgsqlConnection connection, string table)
    {
        var buckets = await connection.QueryAsync<(int Bucket, long Count)>(
            $"SELECT b.bucket, sum(b.count)::bigint FROM usage.{table} r, usage.sketch_buckets(r.latency_sketch) b WHERE r.tenant_id = @Tenant GROUP BY b.bucket ORDER BY b.bucket",
            new { Tenant });
        return LatencySketch.FromPairs(buckets.SelectMany(b => new[] { (long)b.Bucket, b.Count }).ToArray());
    }

    private static async Task<(T Value, double Milliseconds)> TimeAsync<T>(Func<Task<T>> work)
    {
        var stopwatch = Stopwatch.StartNew();
        var value = await work();
        return (value, stopwatch.Elapsed.TotalMilliseconds);
    }

    private static async Task IngestAsync(ApiServer server, string key, int events, int concurrency)
    {
        using var client = server.CreateClient(key);
        var next = -1;
        string[] models = ["claude-sonnet-4-7", "claude-haiku-4-7", "claude-opus-4-7"];
        var batches = (events + 999) / 1000;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            int batch;
            while ((batch = Interlocked.Increment(ref next)) < batches)
            {
                var random = new Random(batch); // reproducible latencies
                using var stream = new MemoryStream();
                using (var json = new Utf8JsonWriter(stream))
                {
                    json.WriteStartArray();
                    for (var i = 0; i < Math.Min(1000, events - (batch * 1000)); i++)
                    {
                        var normal = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
                        var latency = Math.Round(Math.Exp(7.3 + (0.8 * normal)));
                        json.WriteStartObject();
                        json.WriteString("request_id", $"k{batch:D7}-{i:D4}");
                        json.WriteString("user_id", $"u{random.Next(5_000)}");
                        json.WriteString("model", models[random.Next(3)]);
                        json.WriteString("agent_id", $"agent-{random.Next(20)}");
                        json.WriteNumber("tokens_in", 500);
                        json.WriteNumber("tokens_out", 200);
                        json.WriteNumber("latency_ms", latency);
                        json.WriteNumber("ttft_ms", Math.Round(latency * 0.2));
                        json.WriteEndObject();
                    }

                    json.WriteEndArray();
                }

                using var content = new ByteArrayContent(stream.ToArray());
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                using var response = await client.PostAsync("/v1/usage/events", content);
                response.EnsureSuccessStatusCode();
            }
        })));
    }
}
