using Dapper;
using Npgsql;
using Ops.Modules.Shared.Notifications;
using Ops.Testing;
using Shouldly;
using Xunit;

namespace Ops.Modules.KillSwitch.Tests;

/// <summary>With the database unreachable, the last known flags keep applying and the check says it is stale.</summary>
public sealed class DatabaseOutageTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    [Fact]
    public async Task Last_known_flags_keep_applying_and_the_check_reports_stale_until_the_database_is_back()
    {
        var tenant = await host.CreateTenantAsync();
        await tenant.Admin.SetFlagAsync("kill:user:u_1", true, reason: "runaway loop");
        await tenant.Admin.SetFlagAsync("read_only", true, reason: "maintenance");
        await tenant.Admin.SetFlagAsync("dark-mode", true);
        var feed = (IChangeFeed)host.Factory.Services.GetService(typeof(IChangeFeed))!;
        await FlagApi.EventuallyAsync(() => Task.FromResult(feed.IsListening), TimeSpan.FromSeconds(10), "the change feed listens");
        (await tenant.Ingest.CheckAsync("u_1"))["stale"]!.GetValue<bool>().ShouldBeFalse();

        var database = new NpgsqlConnectionStringBuilder(host.ConnectionString).Database!;
        await using (var admin = await TestPostgres.OpenAdminConnectionAsync())
        {
            await admin.ExecuteAsync($"ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS false");
            await admin.ExecuteAsync("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = @database", new { database });
        }

        try
        {
            NpgsqlConnection.ClearAllPools();
            await FlagApi.EventuallyAsync(() => Task.FromResult(!feed.IsListening), TimeSpan.FromSeconds(15), "the change feed notices the outage");

            // Past the refresh interval (the refresh fails; the key cache TTL passes too).
            host.Time.Advance(TimeSpan.FromSeconds(31));
            await FlagApi.EventuallyAsync(async () => (await tenant.Ingest.CheckAsync("u_1"))["stale"]!.GetValue<bool>(), TimeSpan.FromSeconds(10), "the check reports stale");

            var check = await tenant.Ingest.CheckAsync("u_1");
            check.Killed().ShouldBeTrue("a kill never silently resets during an outage");
            check["reason"]!.GetValue<string>().ShouldBe("runaway loop");
            check["read_only"]!.GetValue<bool>().ShouldBeTrue();
            (await tenant.Ingest.CheckAsync("u_2")).Killed().ShouldBeFalse();
            var feature = await tenant.Ingest.EvaluateAsync("dark-mode", "u_2");
            feature["enabled"]!.GetValue<bool>().ShouldBeTrue();
            feature["stale"]!.GetValue<bool>().ShouldBeTrue();
        }
        finally
        {
            await using var admin = await TestPostgres.OpenAdminConnectionAsync();
            await admin.ExecuteAsync($"ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS true");
        }

        NpgsqlConnection.ClearAllPools();
        await FlagApi.EventuallyAsync(async () => !(await tenant.Ingest.CheckAsync("u_1"))["stale"]!.GetValue<bool>(), TimeSpan.FromSeconds(20), "the check is fresh again");
        (await tenant.Ingest.CheckAsync("u_1")).Killed().ShouldBeTrue();
        await tenant.Admin.ClearFlagAsync("kill:user:u_1");
        (await tenant.Ingest.CheckAsync("u_1")).Killed().ShouldBeFalse();
    }
}
