using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using Npgsql;
using Ops.Benchmarks.Infrastructure;

namespace Ops.Benchmarks.Suites;

/// <summary>
/// <c>GET /v1/audit/export</c> over a tenant with a million events, through the real Api process: throughput and
/// the Api's resident memory while it streams, next to the database's own floor (<c>COPY … TO STDOUT</c> of the
/// same rows, read and discarded) measured in the same run.
/// </summary>
public sealed class AuditExportSuite : IBenchSuite
{
    public string Name => "audit-export";

    public string Title => "Audit export (streaming, memory)";

    public async Task<string> RunAsync(BenchContext context, CancellationToken cancellationToken)
    {
        var events = context.IntOption("events", 1_000_000);
        var connectionString = await context.CreateDatabaseAsync("audit_export");
        await using var server = await ApiServer.StartAsync(connectionString);
        using var admin = server.CreateClient(ApiServer.AdminKey);
        (await admin.PostAsJsonAsync("/v1/admin/tenants", new { id = "bench", name = "Bench" }, cancellationToken)).EnsureSuccessStatusCode();
        var ingestKey = await CreateKeyAsync(admin, "ingest", cancellationToken);
        var readKey = await CreateKeyAsync(admin, "read", cancellationToken);

        var ingest = Stopwatch.StartNew();
        await IngestAsync(server, ingestKey, events, cancellationToken);
        ingest.Stop();
        Console.WriteLine($"Ingested {events:N0} events in {ingest.Elapsed.TotalSeconds:N1} s");

        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await using var vacuum = new NpgsqlCommand("VACUUM ANALYZE audit.events", connection);
            await vacuum.ExecuteNonQueryAsync(cancellationToken);
        }

        var (copyTime, copyBytes) = await CopyAsync(connectionString, cancellationToken);
        using var reader = server.CreateClient(readKey);
        var ndjson = await ExportAsync(server, reader, "ndjson", cancellationToken);
        var csv = await ExportAsync(server, reader, "csv", cancellationToken);

        var markdown = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"One tenant, {events:N0} events ingested through `POST /v1/audit/events` (seed-shaped lines with a small metadata object, spread over 10 days); the Api runs as its own process.")
            .AppendLine()
            .AppendLine("| Export | Time | Events/s | MB/s | Api RSS before | Api RSS peak while streaming |")
            .AppendLine("|---|---:|---:|---:|---:|---:|")
            .AppendLine(CultureInfo.InvariantCulture, $"| Baseline: `COPY (SELECT … ORDER BY ts, event_id) TO STDOUT`, read and discarded | {copyTime.TotalSeconds:N1} s | {events / copyTime.TotalSeconds:N0} | {copyBytes / copyTime.TotalSeconds / 1e6:N1} | — | — |");
        foreach (var (format, result) in new[] { ("NDJSON", ndjson), ("CSV", csv) })
        {
            if (result.Lines != events + (format == "CSV" ? 1 : 0))
            {
                throw new InvalidOperationException($"The {format} export returned {result.Lines:N0} lines for {events:N0} events.");
            }

            markdown.AppendLine(CultureInfo.InvariantCulture,
                $"| `GET /v1/audit/export?format={format.ToLowerInvariant()}` | {result.Time.TotalSeconds:N1} s | {events / result.Time.TotalSeconds:N0} | {result.Bytes / result.Time.TotalSeconds / 1e6:N1} | {result.RssBefore:N0} MiB | {result.RssPeak:N0} MiB |");
        }

        markdown.AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"The Api's memory while streaming {events:N0} events stays within {Math.Max(ndjson.RssPeak - ndjson.RssBefore, csv.RssPeak - csv.RssBefore):N0} MiB of where it started: rows are read in keyset batches of 5,000 and written as they arrive.");
        return markdown.ToString();
    }

    private static async Task<string> CreateKeyAsync(HttpClient admin, string role, CancellationToken cancellationToken)
    {
        var response = await admin.PostAsJsonAsync("/v1/admin/keys", new { tenant_id = "bench", name = role, roles = new[] { role } }, cancellationToken);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>(cancellationToken))!["key"]!.GetValue<string>();
    }

    private static async Task IngestAsync(ApiServer server, string key, int events, CancellationToken cancellationToken)
    {
        const int BatchSize = 5000;
        var now = DateTimeOffset.UtcNow;
        var models = new[] { "claude-opus-4-7", "claude-sonnet-4-7", "claude-haiku-4-7" };
        var batches = Enumerable.Range(0, (events + BatchSize - 1) / BatchSize).ToList();
        await Parallel.ForEachAsync(batches, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken }, async (batch, ct) =>
        {
            using var client = server.CreateClient(key);
            var random = new Random(batch);
            var body = new StringBuilder(BatchSize * 330);
            for (var i = batch * BatchSize; i < Math.Min(events, (batch + 1) * BatchSize); i++)
            {
                var ts = now.AddSeconds(-random.Next(0, 10 * 86_400));
                body.Append(CultureInfo.InvariantCulture,
                    $"{{\"ts\":\"{ts:yyyy-MM-ddTHH:mm:ssZ}\",\"user_id\":\"u_{random.Next(0x10000):x4}\",\"request_id\":\"r_{i:x8}\",\"action\":\"chat.reply\",\"tokens_in\":{random.Next(50, 4000)},\"tokens_out\":{random.Next(20, 2000)},\"cost_usd\":{random.Next(1, 900) / 10000.0:0.0000},\"latency_ms\":{random.Next(200, 9000)},\"model\":\"{models[i % 3]}\",\"status\":\"ok\",\"metadata\":{{\"channel\":\"web\",\"tool_calls\":{random.Next(0, 4)}}}}}\n");
            }

            var response = await client.PostAsync("/v1/audit/events", new StringContent(body.ToString(), Encoding.UTF8, "application/x-ndjson"), ct);
            response.EnsureSuccessStatusCode();
        });
    }

    private static async Task<(TimeSpan Time, long Bytes)> CopyAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        var watch = Stopwatch.StartNew();
        using var reader = await connection.BeginTextExportAsync(
            "COPY (SELECT ts, action, user_id, request_id, status, actor, details FROM audit.events WHERE tenant_id = 'bench' AND action = 'chat.reply' ORDER BY ts, event_id) TO STDOUT",
            cancellationToken);
        var buffer = new char[64 * 1024];
        long chars = 0;
        int read;
        while ((read = await reader.ReadAsync(buffer, cancellationToken)) > 0)
        {
            chars += read;
        }

        return (watch.Elapsed, chars);
    }

    private sealed record ExportResult(TimeSpan Time, long Bytes, long Lines, double RssBefore, double RssPeak);

    private static async Task<ExportResult> ExportAsync(ApiServer server, HttpClient client, string format, CancellationToken cancellationToken)
    {
        await Task.Delay(1000, cancellationToken);
        var before = server.Memory().RssMiB;
        var peak = before;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, server.Memory().RssMiB);
                await Task.Delay(50, CancellationToken.None);
            }
        }, CancellationToken.None);

        var watch = Stopwatch.StartNew();
        using var response = await client.GetAsync($"/v1/audit/export?format={format}&action=chat.reply", HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[64 * 1024];
        long bytes = 0, lines = 0;
        int read;
        while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            bytes += read;
            lines += buffer.AsSpan(0, read).Count((byte)'\n');
        }

        watch.Stop();
        await sampling.CancelAsync();
        await sampler;
        return new ExportResult(watch.Elapsed, bytes, lines, before, peak);
    }
}
