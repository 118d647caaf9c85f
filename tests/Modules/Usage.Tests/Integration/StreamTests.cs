using System.Net;
using Ops.Testing;
using Shouldly;
using Xunit;
using static Ops.Modules.Usage.Tests.Integration.EventRequests;
using static Ops.Testing.UsageEvents;

namespace Ops.Modules.Usage.Tests.Integration;

/// <summary>GET /v1/usage/stream: fresh cards after an ingest (on any instance), heartbeats, Last-Event-ID.</summary>
public sealed class StreamTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    private const string Path = "/v1/usage/stream";

    [Fact]
    public async Task A_stream_pushes_the_tenants_cards_and_summary_after_each_fold_and_nothing_of_other_tenants()
    {
        var tenant = await host.CreateTenantAsync();
        var other = await host.CreateTenantAsync();
        await using var stream = await SseStream.OpenAsync(tenant.Read, Path);
        var first = await stream.NextAsync();
        first.Event.ShouldBe("stats");
        first.Data["cost_today"]!["usd"]!.GetValue<decimal>().ShouldBe(0m);
        (await stream.NextAsync()).Event.ShouldBe("summary");

        (await other.Ingest.PostEventsAsync([Event("o-1", OpsTestHost.Epoch.AddMinutes(-1), new { tokens_in = 1_000_000, tokens_out = 0 })])).StatusCode.ShouldBe(HttpStatusCode.OK);
        await host.FoldAsync();
        (await tenant.Ingest.PostEventsAsync([Event("s-1", OpsTestHost.Epoch.AddMinutes(-1), new { tokens_in = 2_000_000, tokens_out = 0 })])).StatusCode.ShouldBe(HttpStatusCode.OK);
        await host.FoldAsync();

        var stats = await stream.NextAsync();
        stats.Event.ShouldBe("stats");
        stats.Data["cost_today"]!["usd"]!.GetValue<decimal>().ShouldBe(6m, "the other tenant's fold pushes nothing here");
        long.Parse(stats.Id!, System.Globalization.CultureInfo.InvariantCulture).ShouldBeGreaterThan(long.Parse(first.Id!, System.Globalization.CultureInfo.InvariantCulture));
        var summary = await stream.NextAsync();
        summary.Event.ShouldBe("summary");
        summary.Id.ShouldBe(stats.Id);
        summary.Data["period"]!.GetValue<string>().ShouldBe("24h");
        (summary.Data["summary"]!["total_requests"]!.GetValue<long>(), summary.Data["summary"]!["total_cost_usd"]!.GetValue<decimal>()).ShouldBe((1L, 6m));
    }

    [Fact]
    public async Task A_fold_on_another_instance_reaches_the_stream_and_a_resumed_stream_waits_for_news()
    {
        var tenant = await host.CreateTenantAsync();
        (await tenant.Ingest.PostEventsAsync([Event("r-1", OpsTestHost.Epoch.AddMinutes(-2))])).StatusCode.ShouldBe(HttpStatusCode.OK);
        await host.FoldAsync();

        await using var second = host.CreateSecondInstance();
        var reader = host.CreateClient(tenant.ReadKey.Key, second);
        string lastId;
        await using (var stream = await SseStream.OpenAsync(reader, Path))
        {
            lastId = (await stream.NextAsync()).Id!;
        }

        // Resuming at the last id pushes nothing until something is folded: the idle stream only beats.
        await using var resumed = await SseStream.OpenAsync(reader, Path, lastId);
        // The stream arms its idle timer on the fake clock once it is waiting; move the clock until it beats.
        using var beating = new CancellationTokenSource();
        var clock = Task.Run(async () =>
        {
            while (!beating.IsCancellationRequested)
            {
                host.Time.Advance(TimeSpan.FromSeconds(16));
                await Task.Delay(100); // infrastructure pacing of the fake clock, not business time
            }
        });
        var beat = await resumed.NextAsync();
        await beating.CancelAsync();
        await clock;
        beat.Event.ShouldBe("heartbeat");

        (await tenant.Ingest.PostEventsAsync([Event("r-2", OpsTestHost.Epoch.AddMinutes(-1))])).StatusCode.ShouldBe(HttpStatusCode.OK);
        await host.FoldAsync(); // on the first instance; the second hears it through LISTEN/NOTIFY
        var pushed = await resumed.NextAsync();
        pushed.Event.ShouldBe("stats");
        long.Parse(pushed.Id!, System.Globalization.CultureInfo.InvariantCulture).ShouldBeGreaterThan(long.Parse(lastId, System.Globalization.CultureInfo.InvariantCulture));
        (await resumed.NextAsync()).Data["summary"]!["total_requests"]!.GetValue<long>().ShouldBe(2L);
    }

    [Fact]
    public async Task The_stream_needs_role_read()
    {
        var tenant = await host.CreateTenantAsync();
        (await tenant.Ingest.GetAsync(Path)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }
}
