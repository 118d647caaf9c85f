using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using Ops.Benchmarks.Infrastructure;

namespace Ops.Benchmarks.Suites.Usage;

/// <param name="CatchUp">How long after the last request the rollups held every accepted event.</param>
/// <param name="ApiCpuSeconds">CPU the Api spent from the first request until the rollups caught up (fold included).</param>
internal sealed record IngestLoadResult(
    long Accepted,
    long Duplicates,
    long Requests,
    TimeSpan Elapsed,
    TimeSpan CatchUp,
    double P50Ms,
    double P99Ms,
    double PeakRssMiB,
    double ApiCpuSeconds,
    double PostgresCpuSeconds,
    double DriverCpuSeconds)
{
    public double EventsPerSecond => Accepted / Elapsed.TotalSeconds;

    /// <summary>CPU milliseconds per 1,000 events, per side, the rollup fold's catch-up included.</summary>
    public (double Api, double Postgres, double Driver) CpuMsPerThousand =>
        (ApiCpuSeconds * 1e6 / Accepted, PostgresCpuSeconds * 1e6 / Accepted, DriverCpuSeconds * 1e6 / Accepted);
}

/// <summary>
/// The HTTP load driver: <c>concurrency</c> workers posting batches back to back for a duration (or an event count),
/// then waiting until <c>rolledUp</c> reports every accepted event in the rollups, so the CPU figures
/// include the whole cost of an event, not just its request.
/// </summary>
internal static class IngestLoad
{
    public static async Task<IngestLoadResult> RunAsync(
        ApiServer server,
        string postgresDataDirectory,
        string ingestKey,
        UsageEventTemplates templates,
        string idPrefix,
        int concurrency,
        TimeSpan duration,
        Func<Task<long>> rolledUp,
        long alreadyRolledUp = 0,
        long maxEvents = long.MaxValue)
    {
        using var client = server.CreateClient(ingestKey);
        long nextBatch = -1, accepted = 0, duplicates = 0, requests = 0;
        var latencies = new List<double>[concurrency];
        var peakRss = 0.0;
        var stopwatch = Stopwatch.StartNew();
        var (api0, pg0, me0) = (ProcessCpu.Of(server.ProcessId), ProcessCpu.OfPostgres(postgresDataDirectory), ProcessCpu.OfThisProcess());
        using var done = new CancellationTokenSource();

        var sampler = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                peakRss = Math.Max(peakRss, server.Memory().RssMiB);
                try
                {
                    await Task.Delay(250, done.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        });

        var workers = Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
        {
            latencies[w] = [];
            var buffer = new byte[templates.MaxBodyBytes];
            while (stopwatch.Elapsed < duration)
            {
                var batch = Interlocked.Increment(ref nextBatch);
                if ((batch + 1) * templates.BatchSize > maxEvents)
                {
                    break;
                }

                var body = templates.Render(batch, idPrefix, buffer);
                using var content = new ReadOnlyMemoryContent(body);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                var started = Stopwatch.GetTimestamp();
                using var response = await client.PostAsync("/v1/usage/events", content);
                var text = await response.Content.ReadAsByteArrayAsync();
                latencies[w].Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (!response.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException($"Ingestion answered {(int)response.StatusCode}: {System.Text.Encoding.UTF8.GetString(text)}");
                }

                using var report = JsonDocument.Parse(text);
                Interlocked.Add(ref accepted, report.RootElement.GetProperty("accepted").GetInt32());
                Interlocked.Add(ref duplicates, report.RootElement.GetProperty("duplicates").GetInt32());
                Interlocked.Increment(ref requests);
            }
        })).ToList();

        await Task.WhenAll(workers);
        var elapsed = stopwatch.Elapsed;
        while (await rolledUp() < alreadyRolledUp + accepted && stopwatch.Elapsed - elapsed < TimeSpan.FromMinutes(5))
        {
            await Task.Delay(100);
        }

        var catchUp = stopwatch.Elapsed - elapsed;
        var (api1, pg1, me1) = (ProcessCpu.Of(server.ProcessId), ProcessCpu.OfPostgres(postgresDataDirectory), ProcessCpu.OfThisProcess());
        await done.CancelAsync();
        await sampler;

        var all = latencies.SelectMany(l => l).Order().ToArray();
        return new IngestLoadResult(
            accepted,
            duplicates,
            requests,
            elapsed,
            catchUp,
            all.Length == 0 ? 0 : all[all.Length / 2],
            all.Length == 0 ? 0 : all[(int)(all.Length * 0.99)],
            Math.Max(peakRss, server.Memory().PeakMiB),
            api1 - api0,
            pg1 - pg0,
            me1 - me0);
    }
}
