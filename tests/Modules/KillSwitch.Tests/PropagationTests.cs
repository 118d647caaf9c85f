using System.Diagnostics;
using Dapper;
using Npgsql;
using Ops.Testing;
using Shouldly;
using Xunit;

namespace Ops.Modules.KillSwitch.Tests;

/// <summary>Several Api instances on one database: a change reaches all of them within a second.</summary>
public sealed class PropagationTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    [Fact]
    public async Task A_second_instance_sees_a_set_and_a_clear_within_one_second()
    {
        var tenant = await host.CreateTenantAsync();
        await using var second = host.CreateSecondInstance();
        var other = host.CreateClient(tenant.IngestKey.Key, second);
        (await other.CheckAsync("u_1")).Killed().ShouldBeFalse();
        await WaitUntilListeningAsync(second);

        await tenant.Admin.SetFlagAsync("kill:user:u_1", true, reason: "abuse");
        var clock = Stopwatch.StartNew();
        await FlagApi.EventuallyAsync(async () => (await other.CheckAsync("u_1")).Killed(), TimeSpan.FromSeconds(1), "the second instance sees the kill");
        var seenAfter = clock.Elapsed;

        await tenant.Admin.ClearFlagAsync("kill:user:u_1");
        await FlagApi.EventuallyAsync(async () => !(await other.CheckAsync("u_1")).Killed(), TimeSpan.FromSeconds(1), "the second instance sees the clear");
        seenAfter.ShouldBeLessThan(TimeSpan.FromSeconds(1));

        // And the other way round: a change made on the second instance reaches the first.
        await host.CreateClient(tenant.AdminKey.Key, second).SetFlagAsync("killall", true);
        await FlagApi.EventuallyAsync(async () => (await tenant.Ingest.CheckAsync()).Killed(), TimeSpan.FromSeconds(1), "the first instance sees the killall");
    }

    [Fact]
    public async Task The_periodic_refresh_catches_a_change_that_was_never_notified()
    {
        var tenant = await host.CreateTenantAsync();
        (await tenant.Ingest.CheckAsync("u_5")).Killed().ShouldBeFalse();
        // Let the start-up reload (once the listener is up) pass, so only the periodic refresh can find the change.
        await WaitUntilListeningAsync(host.Factory);
        await Task.Delay(500);

        // A change written behind the Api's back (no NOTIFY): only the 30 s safety net can find it.
        await using (var connection = new NpgsqlConnection(host.ConnectionString))
        {
            await connection.ExecuteAsync(
                """
                WITH c AS (SELECT nextval('killswitch.change_ids') AS id)
                INSERT INTO killswitch.flags (tenant_id, key, kind, value, reason, set_by, set_at, change_id)
                SELECT @tenant, 'kill:user:u_5', 'kill_user', 'true', 'set by hand', 'psql', @now, id FROM c;
                INSERT INTO killswitch.scope_versions (tenant_id, change_id) VALUES (@tenant, currval('killswitch.change_ids'))
                ON CONFLICT (tenant_id) DO UPDATE SET change_id = EXCLUDED.change_id;
                """,
                new { tenant = tenant.Id, now = host.Time.GetUtcNow() });
        }

        await Task.Delay(300);
        (await tenant.Ingest.CheckAsync("u_5")).Killed().ShouldBeFalse("nothing told the Api yet");
        host.Time.Advance(TimeSpan.FromSeconds(30));
        await FlagApi.EventuallyAsync(async () => (await tenant.Ingest.CheckAsync("u_5")).Killed(), TimeSpan.FromSeconds(5), "the periodic refresh loads the flag");
    }

    private static async Task WaitUntilListeningAsync(OpsApiFactory instance)
    {
        var feed = (Ops.Modules.Shared.Notifications.IChangeFeed)instance.Services.GetService(typeof(Ops.Modules.Shared.Notifications.IChangeFeed))!;
        await FlagApi.EventuallyAsync(() => Task.FromResult(feed.IsListening), TimeSpan.FromSeconds(10), "the second instance listens");
    }
}
