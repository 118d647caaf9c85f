using System.Net;
using Ops.Testing;
using Shouldly;
using Xunit;
using static Ops.Modules.Usage.Tests.Integration.EventRequests;
using static Ops.Testing.UsageEvents;

namespace Ops.Modules.Usage.Tests.Integration;

/// <summary>The rollup fold counts every committed event exactly once, whoever folds and however often.</summary>
public sealed class FoldTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    private UsageDatabase Db => new(host.ConnectionString);

    [Fact]
    public async Task Folds_racing_on_two_instances_while_events_arrive_count_each_event_once()
    {
        var tenant = await host.CreateTenantAsync();
        await using var second = host.CreateSecondInstance();
        var folders = new[] { host.Factory, second }
            .Select(f => Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Ingestion.RollupFolder>(f.Services))
            .ToArray();

        using var stop = new CancellationTokenSource();
        var folding = folders.Select(folder => Task.Run(async () =>
        {
            long folded = 0;
            while (!stop.IsCancellationRequested)
            {
                folded += await folder.FoldPendingAsync(CancellationToken.None);
            }

            return folded;
        })).ToArray();

        var ingesting = Enumerable.Range(0, 6).Select(batch => tenant.Ingest.PostEventsAsync(
            Enumerable.Range(0, 100).Select(i => Event($"f-{batch}-{i}", OpsTestHost.Epoch.AddMinutes(-i), new { user_id = $"u{i % 9}", latency_ms = 100 + i }))));
        foreach (var response in await Task.WhenAll(ingesting))
        {
            response.StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        // Race on until every event is folded: while requests run, their open transactions hold folding back, so
        // stopping at the last response could leave the racing folders nothing (the background folds take it all).
        var racing = System.Diagnostics.Stopwatch.StartNew();
        while (racing.Elapsed < TimeSpan.FromSeconds(30)
               && await Db.ScalarAsync<long?>("SELECT folded_events FROM usage.rollup_watermarks WHERE tenant_id = @t", new { t = tenant.Id }) != 600)
        {
            await Task.Delay(10); // infrastructure wait, not business time
        }

        await stop.CancelAsync();
        (await Task.WhenAll(folding)).Sum().ShouldBeGreaterThan(0, "the racing folders did fold");
        await host.FoldAsync(); // the rest (the instances' own background folds may have taken some too)
        (await host.FoldAsync()).ShouldBe(0, "nothing is folded twice");

        (await Db.RollupRequestsAsync(tenant.Id)).ShouldBe((600L, 600L, 600L, 600L));
        (await Db.ScalarAsync<long>("SELECT sum(latency_count) FROM usage.hourly_rollup WHERE tenant_id = @t", new { t = tenant.Id })).ShouldBe(600);
        var sketchTotal = await Db.ScalarAsync<long>(
            "SELECT sum(b.count) FROM usage.daily_rollup r, usage.sketch_buckets(r.latency_sketch) b WHERE r.tenant_id = @t", new { t = tenant.Id });
        sketchTotal.ShouldBe(600, "the sketches hold every latency once");
        (await Db.ScalarAsync<long>("SELECT folded_events FROM usage.rollup_watermarks WHERE tenant_id = @t", new { t = tenant.Id })).ShouldBe(600);
    }
}
