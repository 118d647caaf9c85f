using System.Net;
using System.Text;
using Ops.Testing;
using Shouldly;
using Xunit;
using static Ops.Modules.Usage.Tests.Integration.EventRequests;
using static Ops.Testing.UsageEvents;

namespace Ops.Modules.Usage.Tests.Integration;

/// <summary>A host with small caps, so the tests hit them cheaply.</summary>
public sealed class SmallCapsHost : OpsTestHost
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Modules:Usage:MaxEventsPerRequest"] = "3",
        ["Modules:Usage:MaxRequestBytes"] = "4096",
        ["Modules:Usage:MaxMetadataBytes"] = "64",
    };
}

public sealed class CapsTests(SmallCapsHost host) : IClassFixture<SmallCapsHost>
{
    [Fact]
    public async Task Too_many_events_too_many_bytes_and_a_lone_events_oversized_metadata_are_413()
    {
        var tenant = await host.CreateTenantAsync();
        var at = OpsTestHost.Epoch;
        await (await tenant.Ingest.PostEventsAsync(Enumerable.Range(0, 4).Select(i => Event($"cap-{i}", at))))
            .ShouldBeProblemAsync(HttpStatusCode.RequestEntityTooLarge, "body");
        await (await tenant.Ingest.PostNdjsonAsync(Enumerable.Range(0, 4).Select(i => Event($"cap-{i}", at).ToJsonString())))
            .ShouldBeProblemAsync(HttpStatusCode.RequestEntityTooLarge, "body");
        await (await tenant.Ingest.PostEventsAsync([Event("cap-big", at, new { metadata = new { note = new string('x', 5_000) } })]))
            .ShouldBeProblemAsync(HttpStatusCode.RequestEntityTooLarge, "body");
        await (await tenant.Ingest.PostEventsAsync(Event("cap-meta", at, new { metadata = new { note = new string('x', 100) } }).ToJsonString()))
            .ShouldBeProblemAsync(HttpStatusCode.RequestEntityTooLarge, "metadata");
    }

    [Fact]
    public async Task In_a_batch_an_oversized_metadata_rejects_only_its_event()
    {
        var tenant = await host.CreateTenantAsync();
        var at = OpsTestHost.Epoch;
        var report = (await (await tenant.Ingest.PostEventsAsync(
        [
            Event("m-0", at, new { metadata = new { note = "small" } }),
            Event("m-1", at, new { metadata = new { note = new string('x', 100) } }),
        ])).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        report["accepted"]!.GetValue<int>().ShouldBe(1);
        report["errors"]![0]!["errors"]![0]!["name"]!.GetValue<string>().ShouldBe("metadata");
    }

    [Fact]
    public async Task Ingestion_needs_the_ingest_role()
    {
        var tenant = await host.CreateTenantAsync();
        (await tenant.Read.PostAsync("/v1/usage/events", new StringContent(SeedLine, Encoding.UTF8, "application/json"))).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await host.CreateClient().PostAsync("/v1/usage/events", new StringContent(SeedLine, Encoding.UTF8, "application/json"))).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }
}
