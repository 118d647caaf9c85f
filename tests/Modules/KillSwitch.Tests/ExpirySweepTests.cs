using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Ops.Modules.KillSwitch.Jobs;
using Ops.Testing;
using Shouldly;
using Xunit;

namespace Ops.Modules.KillSwitch.Tests;

/// <summary>The expiry sweep moves expired flags to the history and the audit log.</summary>
public sealed class ExpirySweepTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    [Fact]
    public async Task Expired_flags_leave_the_list_and_are_recorded_as_expired()
    {
        var tenant = await host.CreateTenantAsync();
        await tenant.Admin.SetFlagAsync("kill:user:u_1", true, reason: "cool-off", expiresAt: host.Time.GetUtcNow().AddHours(1));
        await tenant.Admin.SetFlagAsync("kill:user:u_2", true, reason: "indefinite");
        await using var stream = await tenant.Ingest.GetStreamAsync("/v1/flags/stream");
        var sweep = host.Factory.Services.GetRequiredService<ExpiredFlagSweep>();

        (await sweep.RunAsync(CancellationToken.None)).ShouldBe(0);
        host.Time.Advance(TimeSpan.FromHours(1));
        (await sweep.RunAsync(CancellationToken.None)).ShouldBe(1);

        var keys = (await (await tenant.Admin.GetAsync("/v1/admin/flags")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray().Select(f => f!["key"]!.GetValue<string>());
        keys.ShouldBe(["kill:user:u_2"]);
        var history = (await (await tenant.Admin.GetAsync("/v1/admin/flags/kill:user:u_1/history")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray();
        history[0]!["action"]!.GetValue<string>().ShouldBe("expired");
        history[0]!["actor"]!.GetValue<string>().ShouldBe("system:killswitch-expiry");
        history[0]!["before"]!["reason"]!.GetValue<string>().ShouldBe("cool-off");

        await using var connection = new NpgsqlConnection(host.ConnectionString);
        var audit = await connection.QuerySingleAsync<(string Actor, string Details)>(
            "SELECT actor, details::text FROM audit.events WHERE tenant_id = @tenant AND action = 'flag.expired'", new { tenant = tenant.Id });
        audit.Actor.ShouldBe("system:killswitch-expiry");
        JsonNode.Parse(audit.Details)!["before"]!["reason"]!.GetValue<string>().ShouldBe("cool-off");
    }
}
