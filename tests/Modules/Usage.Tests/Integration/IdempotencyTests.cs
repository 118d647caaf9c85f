using System.Net;
using System.Text.Json.Nodes;
using Ops.Testing;
using Shouldly;
using Xunit;
using static Ops.Modules.Usage.Tests.Integration.EventRequests;
using static Ops.Testing.UsageEvents;

namespace Ops.Modules.Usage.Tests.Integration;

/// <summary>A request_id counts once per tenant: retries, repeats within a request and racing retries alike.</summary>
public sealed class IdempotencyTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    private UsageDatabase Db => new(host.ConnectionString);

    [Fact]
    public async Task Sending_the_same_events_again_reports_duplicates_and_counts_nothing_twice()
    {
        var tenant = await host.CreateTenantAsync();
        var batch = Enumerable.Range(0, 20).Select(i => Event($"d-{i}", OpsTestHost.Epoch.AddMinutes(-i))).ToList();
        (await (await tenant.Ingest.PostEventsAsync(batch)).ShouldHaveStatusAsync(HttpStatusCode.OK))!["accepted"]!.GetValue<int>().ShouldBe(20);

        var retry = (await (await tenant.Ingest.PostEventsAsync([.. batch.Take(5), Event("d-new", OpsTestHost.Epoch), batch[3]]))
            .ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        retry["accepted"]!.GetValue<int>().ShouldBe(1);
        retry["duplicates"]!.GetValue<int>().ShouldBe(6);
        retry["duplicate_indexes"]!.AsArray().Select(i => i!.GetValue<int>()).ShouldBe([0, 1, 2, 3, 4, 6]);

        (await Db.EventCountAsync(tenant.Id)).ShouldBe(21);
        await host.FoldAsync();
        (await Db.RollupRequestsAsync(tenant.Id)).ShouldBe((21L, 21L, 21L, 21L));
        (await Db.ScalarAsync<long>("SELECT count(*) FROM audit.events WHERE tenant_id = @t AND request_id LIKE 'd-%'", new { t = tenant.Id })).ShouldBe(21);
    }

    [Fact]
    public async Task A_request_id_repeated_inside_one_request_is_stored_once_first_occurrence_wins()
    {
        var tenant = await host.CreateTenantAsync();
        var report = (await (await tenant.Ingest.PostEventsAsync(
        [
            Event("same", OpsTestHost.Epoch, new { tokens_in = 10 }),
            Event("same", OpsTestHost.Epoch, new { tokens_in = 99 }),
        ])).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        report["accepted"]!.GetValue<int>().ShouldBe(1);
        report["duplicate_indexes"]!.AsArray().Select(i => i!.GetValue<int>()).ShouldBe([1]);
        (await Db.ScalarAsync<int>("SELECT tokens_in FROM usage.events WHERE tenant_id = @t AND request_id = 'same'", new { t = tenant.Id })).ShouldBe(10);
    }

    [Fact]
    public async Task Concurrent_retries_of_the_same_batch_are_counted_once()
    {
        var tenant = await host.CreateTenantAsync();
        var batch = Enumerable.Range(0, 300)
            .Select(i => Event($"c-{i:000}", OpsTestHost.Epoch.AddSeconds(-i), new { user_id = $"u_{i % 7}", agent_id = $"a{i % 3}" }))
            .ToList();
        // Overlapping retries too: half of the batch, racing with the whole.
        var requests = Enumerable.Range(0, 8)
            .Select(i => tenant.Ingest.PostEventsAsync(i % 2 == 0 ? batch : batch.Skip(100).Take(150).Reverse()))
            .ToList();
        var reports = new List<JsonNode>();
        foreach (var response in await Task.WhenAll(requests))
        {
            reports.Add((await response.ShouldHaveStatusAsync(HttpStatusCode.OK))!);
        }

        reports.Sum(r => r["accepted"]!.GetValue<int>()).ShouldBe(300);
        reports.Sum(r => r["accepted"]!.GetValue<int>() + r["duplicates"]!.GetValue<int>()).ShouldBe((4 * 300) + (4 * 150));
        (await Db.EventCountAsync(tenant.Id)).ShouldBe(300);
        await host.FoldAsync();
        (await Db.RollupRequestsAsync(tenant.Id)).ShouldBe((300L, 300L, 300L, 300L));
        (await Db.ScalarAsync<long>("SELECT sum(tokens_in) FROM usage.hourly_rollup WHERE tenant_id = @t", new { t = tenant.Id })).ShouldBe(300 * 1_000);
        (await Db.ScalarAsync<long>("SELECT sum(latency_count) FROM usage.daily_rollup WHERE tenant_id = @t", new { t = tenant.Id })).ShouldBe(300);
        (await Db.ScalarAsync<long>("SELECT count(*) FROM usage.daily_active_users WHERE tenant_id = @t", new { t = tenant.Id })).ShouldBe(7);
        (await Db.ScalarAsync<long>("SELECT count(*) FROM audit.events WHERE tenant_id = @t AND request_id LIKE 'c-%'", new { t = tenant.Id })).ShouldBe(300);
    }

    [Fact]
    public async Task The_same_request_id_in_two_tenants_is_two_independent_events()
    {
        var first = await host.CreateTenantAsync();
        var second = await host.CreateTenantAsync();
        (await (await first.Ingest.PostEventsAsync([Event("shared-id", OpsTestHost.Epoch, new { tokens_in = 100 })])).ShouldHaveStatusAsync(HttpStatusCode.OK))!
            ["accepted"]!.GetValue<int>().ShouldBe(1);
        (await (await second.Ingest.PostEventsAsync([Event("shared-id", OpsTestHost.Epoch, new { tokens_in = 999 })])).ShouldHaveStatusAsync(HttpStatusCode.OK))!
            ["accepted"]!.GetValue<int>().ShouldBe(1);

        (await Db.ScalarAsync<int>("SELECT tokens_in FROM usage.events WHERE tenant_id = @t AND request_id = 'shared-id'", new { t = first.Id })).ShouldBe(100, "not overwritten");
        (await Db.ScalarAsync<int>("SELECT tokens_in FROM usage.events WHERE tenant_id = @t AND request_id = 'shared-id'", new { t = second.Id })).ShouldBe(999);
    }
}
