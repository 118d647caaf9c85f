using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Ops.Modules.KillSwitch.Contracts;
using Ops.Modules.KillSwitch.Enforcement;
using Ops.Modules.Shared.Security;
using Ops.Testing;
using Shouldly;
using Xunit;

namespace Ops.Modules.KillSwitch.Tests;

/// <summary>The enforcement piece: 503 with the reason and Retry-After, an audit event, and never on the routes that must keep working.</summary>
public sealed class EnforcementTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    [Fact]
    public async Task A_killed_caller_of_an_agent_facing_route_gets_503_with_the_reason_and_Retry_After()
    {
        var tenant = await host.CreateTenantAsync();
        await tenant.Admin.SetFlagAsync("dark-mode", true);
        await tenant.Admin.SetFlagAsync("kill:user:u_1", true, reason: "leaked context", expiresAt: host.Time.GetUtcNow().AddMinutes(10));

        var rejected = await tenant.Ingest.GetAsync("/v1/flags/evaluate?feature=dark-mode&user_id=u_1");
        var problem = await rejected.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable);
        problem["detail"]!.GetValue<string>().ShouldBe("leaked context");
        problem["flag"]!.GetValue<string>().ShouldBe("kill:user:u_1");
        problem["scope"]!.GetValue<string>().ShouldBe("user");
        problem["retry_after_s"]!.GetValue<int>().ShouldBe(600);
        rejected.Headers.RetryAfter!.Delta.ShouldBe(TimeSpan.FromSeconds(600));

        (await tenant.Ingest.EvaluateAsync("dark-mode", "u_2"))["enabled"]!.GetValue<bool>().ShouldBeTrue("only u_1 is killed");

        await FlagApi.EventuallyAsync(async () => (await KilledEventsAsync(tenant.Id)).Count == 1, TimeSpan.FromSeconds(10), "the rejection is audited");
        var audited = (await KilledEventsAsync(tenant.Id)).Single();
        audited.UserId.ShouldBe("u_1");
        audited.Actor.ShouldContain(tenant.IngestKey.Id.ToString());
        var details = JsonNode.Parse(audited.Details)!;
        details["flag"]!.GetValue<string>().ShouldBe("kill:user:u_1");
        details["reason"]!.GetValue<string>().ShouldBe("leaked context");
        details["path"]!.GetValue<string>().ShouldBe("/v1/flags/evaluate");
    }

    [Fact]
    public async Task During_a_killall_the_check_the_stream_and_the_admin_routes_keep_working()
    {
        var tenant = await host.CreateTenantAsync();
        await tenant.Admin.SetFlagAsync("killall", true, reason: "halt");

        (await tenant.Ingest.GetAsync("/v1/flags/evaluate?feature=anything")).StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        (await tenant.Ingest.CheckAsync()).Killed().ShouldBeTrue("the check answers, it is how agents learn of the halt");
        (await tenant.Admin.GetAsync("/v1/admin/flags")).StatusCode.ShouldBe(HttpStatusCode.OK);
        var stream = await tenant.Ingest.GetAsync("/v1/flags/stream", HttpCompletionOption.ResponseHeadersRead);
        stream.StatusCode.ShouldBe(HttpStatusCode.OK);
        stream.Dispose();

        await tenant.Admin.ClearFlagAsync("killall", "lifted");
        (await tenant.Ingest.GetAsync("/v1/flags/evaluate?feature=anything")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task The_middleware_guards_marked_routes_and_read_only_blocks_writes_but_not_reads()
    {
        var tenant = await host.CreateTenantAsync();
        await using var app = await CustomerAppAsync(tenant.Id);
        var client = app.GetTestClient();

        (await client.PostAsJsonAsync("/orders", new { })).StatusCode.ShouldBe(HttpStatusCode.OK);

        await tenant.Admin.SetFlagAsync("read_only", true, reason: "migrating the CRM");
        (await client.GetAsync("/orders")).StatusCode.ShouldBe(HttpStatusCode.OK);
        var write = await client.PostAsJsonAsync("/orders", new { });
        var problem = await write.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable);
        problem["read_only"]!.GetValue<bool>().ShouldBeTrue();
        problem["detail"]!.GetValue<string>().ShouldBe("migrating the CRM");
        write.Headers.RetryAfter!.Delta.ShouldBe(TimeSpan.FromSeconds(30));
        (await client.PostAsJsonAsync("/evidence", new { })).StatusCode.ShouldBe(HttpStatusCode.OK, "unmarked routes (evidence, ingestion) are never guarded");
        await tenant.Admin.ClearFlagAsync("read_only");

        await tenant.Admin.SetFlagAsync("kill:agent:bot-7", true, reason: "looping");
        var agentRequest = new HttpRequestMessage(HttpMethod.Get, "/orders");
        agentRequest.Headers.Add(KillSwitchGate.AgentHeader, "bot-7");
        (await client.SendAsync(agentRequest)).StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        (await client.GetAsync("/orders")).StatusCode.ShouldBe(HttpStatusCode.OK, "other agents go on");
        await FlagApi.EventuallyAsync(async () => (await KilledEventsAsync(tenant.Id)).Count == 2, TimeSpan.FromSeconds(10), "both rejections are audited");
        var causes = (await KilledEventsAsync(tenant.Id)).Select(e => JsonNode.Parse(e.Details)!["cause"]!.GetValue<string>()).Order().ToList();
        causes.ShouldBe(["killed", "read_only"]);
    }

    /// <summary>A customer's own service using the middleware, authenticated as one of the tenant's keys.</summary>
    private async Task<WebApplication> CustomerAppAsync(string tenantId)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddSingleton(host.Factory.Services.GetRequiredService<KillSwitchGate>());
        var app = builder.Build();
        app.Use((context, next) =>
        {
            context.User = new ClaimsPrincipal(new ClaimsIdentity(
                [new Claim(OpsClaims.TenantId, tenantId), new Claim(OpsClaims.KeyId, Guid.NewGuid().ToString()), new Claim(OpsClaims.KeyName, "shop")],
                "test"));
            return next(context);
        });
        app.UseRouting();
        app.UseKillSwitchEnforcement();
        app.MapGet("/orders", () => Results.Ok(new { orders = Array.Empty<string>() })).WithMetadata(new EnforceKillSwitchAttribute());
        app.MapPost("/orders", () => Results.Ok()).WithMetadata(new EnforceKillSwitchAttribute());
        app.MapPost("/evidence", () => Results.Ok());
        await app.StartAsync();
        return app;
    }

    private async Task<List<(string? UserId, string Actor, string Details)>> KilledEventsAsync(string tenantId)
    {
        await using var connection = new NpgsqlConnection(host.ConnectionString);
        return (await connection.QueryAsync<(string? UserId, string Actor, string Details)>(
            "SELECT user_id, actor, details::text FROM audit.events WHERE tenant_id = @tenantId AND action = 'killed' ORDER BY ts, event_id",
            new { tenantId })).ToList();
    }
}
