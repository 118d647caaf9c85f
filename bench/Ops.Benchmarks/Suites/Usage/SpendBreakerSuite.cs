using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using Npgsql;
using Ops.Benchmarks.Infrastructure;

namespace Ops.Benchmarks.Suites.Usage;

/// <summary>
/// Issue 7's breaker target: ingestion throughput with the Alerts spend breaker on stays within 10 % of it off. The
/// same load as usage-ingest (batches over HTTP to the Api process, durable commits), measured twice in one run on
/// fresh databases: breaker off; on with a limit no user reaches (the steady-state cost: every batch through the
/// breaker's windows); on with a tight limit (every user approaches it, is checked against the database and killed:
/// the worst case of the verification path).
/// Options: --seconds 30 --concurrency 6 --batch 1000 --window-minutes 20 --limit-usd 1000 --tight-limit-usd 2.
/// </summary>
public sealed class SpendBreakerSuite : IBenchSuite
{
    public string Name => "spend-breaker";

    public string Title => "Usage ingestion with the spend breaker on vs off";

    public async Task<string> RunAsync(BenchContext context, CancellationToken cancellationToken)
    {
        var seconds = context.IntOption("seconds", 30);
        var concurrency = context.IntOption("concurrency", 6);
        var batchSize = context.IntOption("batch", 1000);
        var windowMinutes = context.IntOption("window-minutes", 20);
        var limitUsd = decimal.Parse(context.Options.GetValueOrDefault("limit-usd") ?? "1000", CultureInfo.InvariantCulture);
        var tightUsd = decimal.Parse(context.Options.GetValueOrDefault("tight-limit-usd") ?? "2", CultureInfo.InvariantCulture);
        var cluster = await context.PostgresAsync();
        var templates = new UsageEventTemplates(64, batchSize, users: 5_000, seed: 42);

        var off = await MeasureAsync(context, cluster.DataDirectory, templates, concurrency, seconds, breaker: null);
        Console.WriteLine($"breaker off: {off.Load.EventsPerSecond:N0} events/s");
        var on = await MeasureAsync(context, cluster.DataDirectory, templates, concurrency, seconds, breaker: new { enabled = true, subject = "user", window_minutes = windowMinutes, limit_usd = limitUsd, kill_minutes = 60 });
        Console.WriteLine($"breaker on: {on.Load.EventsPerSecond:N0} events/s ({on.Kills} kills)");
        var tight = await MeasureAsync(context, cluster.DataDirectory, templates, concurrency, seconds, breaker: new { enabled = true, subject = "user", window_minutes = windowMinutes, limit_usd = tightUsd, kill_minutes = 60 });
        Console.WriteLine($"breaker on, tight limit: {tight.Load.EventsPerSecond:N0} events/s ({tight.Kills} kills)");

        var ratio = on.Load.EventsPerSecond / off.Load.EventsPerSecond;
        string Row(string name, Run r) =>
            $"| {name} | {r.Load.Accepted:N0} | {r.Load.Elapsed.TotalSeconds:N1} | **{r.Load.EventsPerSecond:N0}** | {r.Load.EventsPerSecond / off.Load.EventsPerSecond:P1} | {r.Load.CpuMsPerThousand.Api:N1} | {r.Load.P50Ms:N0} / {r.Load.P99Ms:N0} | {r.Kills:N0} |";
        return new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"Batches of {batchSize:N0} events (5,000 users, as in usage-ingest) posted by {concurrency} concurrent clients for {seconds} s to the Api process, on three fresh databases in the same run. With the breaker on, every committed batch is queued to the breaker (a bounded channel; the request does not wait), which keeps per-user sliding-window sums over {windowMinutes} min in memory; users whose local sum reaches half of the limit are checked against the database (one query per tenant per second) and users over it are killed (kill flag, alert, audit). With ${limitUsd} no user gets near the limit (the cost every batch pays); with ${tightUsd} users of this load reach it once each has made roughly a hundred calls, so at full-size rates most are checked against the database and killed during the run (the worst case; the last column says how many). Target: on ≥ 90 % of off.")
            .AppendLine()
            .AppendLine("| Breaker | Events | Seconds | Events/s | vs off | Api CPU ms/1k | Request p50 / p99 ms | Users killed |")
            .AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|")
            .AppendLine(Row("off", off))
            .AppendLine(Row(string.Create(CultureInfo.InvariantCulture, $"on (${limitUsd} per user per {windowMinutes} min)"), on))
            .AppendLine(Row(string.Create(CultureInfo.InvariantCulture, $"on, tight (${tightUsd} per user per {windowMinutes} min)"), tight))
            .AppendLine()
            .AppendLine(string.Create(CultureInfo.InvariantCulture, $"Ratio on/off: **{ratio:P1}** ({(ratio >= 0.9 ? "within" : "outside")} the 10 % budget); with the tight limit {tight.Load.EventsPerSecond / off.Load.EventsPerSecond:P1} ({tight.Kills:N0} users killed)."))
            .ToString();
    }

    private sealed record Run(IngestLoadResult Load, long Kills);

    private static async Task<Run> MeasureAsync(BenchContext context, string dataDirectory, UsageEventTemplates templates, int concurrency, int seconds, object? breaker)
    {
        var connectionString = await context.CreateDatabaseAsync(breaker is null ? "breaker_off" : "breaker_on");
        await using var server = await ApiServer.StartAsync(connectionString, new Dictionary<string, string> { ["Modules__Alerts__EvaluationEnabled"] = "false" });
        var key = await UsageIngestSuite.CreateIngestKeyAsync(server, "bench");
        if (breaker is not null)
        {
            using var platform = server.CreateClient(ApiServer.AdminKey);
            var created = await platform.PostAsJsonAsync("/v1/admin/keys", new { tenant_id = "bench", name = "breaker-admin", roles = new[] { "admin" } });
            created.EnsureSuccessStatusCode();
            using var admin = server.CreateClient((await created.Content.ReadFromJsonAsync<JsonObject>())!["key"]!.GetValue<string>());
            (await admin.PutAsJsonAsync("/v1/alerts/breaker", breaker)).EnsureSuccessStatusCode();
        }

        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var rolledUp = () => UsageIngestSuite.RolledUpAsync(dataSource, "bench");
        var warmup = await IngestLoad.RunAsync(server, dataDirectory, key, templates, "w", concurrency, TimeSpan.FromSeconds(Math.Min(5, seconds)), rolledUp);
        var load = await IngestLoad.RunAsync(server, dataDirectory, key, templates, "m", concurrency, TimeSpan.FromSeconds(seconds), rolledUp, warmup.Accepted);
        await using var connection = await dataSource.OpenConnectionAsync();
        var kills = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM killswitch.flags WHERE tenant_id = 'bench' AND kind = 'kill_user'");
        return new Run(load, kills);
    }
}
