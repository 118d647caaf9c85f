using Ops.Testing;
using Shouldly;
using Xunit;

namespace Ops.Modules.Audit.Tests.Api;

public sealed class ConcurrencyTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    [Fact]
    public async Task Concurrent_writers_and_retries_lose_nothing_and_duplicate_nothing()
    {
        var tenant = await host.CreateTenantAsync();
        var now = host.Time.GetUtcNow();
        const int Writers = 8, Batches = 5, PerBatch = 40;

        // Writer w sends its own events; every batch also carries ten events of the previous writer (a retry
        // racing the original), so the same keys arrive concurrently from two writers.
        static string Id(int writer, int batch, int i) => $"w{writer}-b{batch}-{i:00}";
        var expected = new HashSet<string>();
        for (var w = 0; w < Writers; w++)
        {
            for (var b = 0; b < Batches; b++)
            {
                for (var i = 0; i < PerBatch; i++)
                {
                    expected.Add(Id(w, b, i));
                }
            }
        }

        var readerPages = 0;
        using var stop = new CancellationTokenSource();
        var reader = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var page = await tenant.Read.ListAllAsync("action=load.test", limit: 50);
                page.Select(e => e["request_id"]!.GetValue<string>()).Distinct().Count().ShouldBe(page.Count);
                readerPages++;
            }
        });

        var accepted = await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            var total = 0;
            for (var b = 0; b < Batches; b++)
            {
                var own = Enumerable.Range(0, PerBatch).Select(i => (Id(w, b, i), i));
                var retried = Enumerable.Range(0, 10).Select(i => (Id((w + 1) % Writers, b, i), i));
                var body = own.Concat(retried)
                    .Select(e => AuditClient.Event(e.Item1, now.AddMilliseconds(-e.Item2), action: "load.test", user: $"u_{w}"))
                    .ToArray();
                total += (await tenant.Ingest.IngestAsync(body))["accepted"]!.GetValue<int>();
            }

            return total;
        })));
        await stop.CancelAsync();
        await reader;

        accepted.Sum().ShouldBe(expected.Count, "each key is accepted exactly once across all writers");
        var listed = (await tenant.Read.ListAllAsync("action=load.test", limit: 97)).Select(e => e["request_id"]!.GetValue<string>()).ToList();
        listed.Count.ShouldBe(expected.Count);
        listed.ToHashSet().SetEquals(expected).ShouldBeTrue();
        var exported = (await tenant.Read.ExportNdjsonAsync("action=load.test")).Select(e => e["request_id"]!.GetValue<string>()).ToList();
        exported.Count.ShouldBe(expected.Count);
        exported.ToHashSet().SetEquals(expected).ShouldBeTrue();
        readerPages.ShouldBeGreaterThan(0);
    }

    [Fact]
    public async Task Concurrent_first_writes_to_days_without_a_partition_all_succeed()
    {
        var tenant = await host.CreateTenantAsync();
        var now = host.Time.GetUtcNow();
        // Days 40–45 back have no partition yet; eight requests race to create each of them.
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(() => tenant.Ingest.IngestAsync(
            Enumerable.Range(40, 6).Select(day => AuditClient.Event($"p{w}-{day}", now.AddDays(-day), action: "partition.race")).ToArray()))));

        results.Sum(r => r["accepted"]!.GetValue<int>()).ShouldBe(48);
        (await tenant.Read.ListAllAsync("action=partition.race")).Count.ShouldBe(48);
    }
}
