using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Ops.Modules.Usage.Jobs;
using Ops.Testing;
using Shouldly;
using Xunit;
using static Ops.Modules.Usage.Tests.Integration.EventRequests;
using static Ops.Testing.UsageEvents;

namespace Ops.Modules.Usage.Tests.Integration;

/// <summary>
/// Small purge batches, so the job's loop is exercised with few events; no background fold (the test folds when it
/// means to, so "not yet folded" is not a race against the fold loop on a slow machine).
/// </summary>
public sealed class SmallPurgeBatchHost : OpsTestHost
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Modules:Usage:PurgeBatchSize"] = "100",
        ["Modules:Usage:RollupIntervalMs"] = "600000",
    };
}

public sealed class RetentionTests(SmallPurgeBatchHost host) : IClassFixture<SmallPurgeBatchHost>
{
    private UsageDatabase Db => new(host.ConnectionString);

    [Fact]
    public async Task Raw_events_older_than_the_retention_are_purged_in_batches_while_rollups_stay()
    {
        var tenant = await host.CreateTenantAsync();
        var other = await host.CreateTenantAsync();
        var now = host.Time.GetUtcNow();
        var old = now.AddDays(-100);
        // A backfill of 250 old events (accepted: any past date is), one 89 days old, one today; another tenant's old one.
        for (var chunk = 0; chunk < 250; chunk += 125)
        {
            (await tenant.Ingest.PostEventsAsync(Enumerable.Range(chunk, 125).Select(i => Event($"old-{i}", old.AddMinutes(i))))).StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        (await tenant.Ingest.PostEventsAsync([Event("recent-89", now.AddDays(-89)), Event("today", now)])).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await other.Ingest.PostEventsAsync([Event("old-other", old)])).StatusCode.ShouldBe(HttpStatusCode.OK);

        var retention = host.Factory.Services.GetRequiredService<RawEventRetention>();
        (await retention.PurgeAsync(CancellationToken.None)).ShouldBe(0, "events not yet folded into the rollups are kept");
        await host.FoldAsync();
        (await retention.PurgeAsync(CancellationToken.None)).ShouldBe(251);
        (await Db.QueryAsync<string>("SELECT request_id FROM usage.events WHERE tenant_id = @t ORDER BY request_id", new { t = tenant.Id })).ShouldBe(["recent-89", "today"]);
        (await Db.EventCountAsync(other.Id)).ShouldBe(0);
        (await Db.RollupRequestsAsync(tenant.Id)).ShouldBe((252L, 252L, 252L, 252L), "rollups are kept for good");

        (await retention.PurgeAsync(CancellationToken.None)).ShouldBe(0, "nothing more is due today");

        host.Time.Advance(TimeSpan.FromDays(2));
        (await retention.PurgeAsync(CancellationToken.None)).ShouldBe(1);
        (await Db.QueryAsync<string>("SELECT request_id FROM usage.events WHERE tenant_id = @t", new { t = tenant.Id })).ShouldBe(["today"]);
    }
}
