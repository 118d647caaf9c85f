using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Npgsql;
using Ops.Testing;
using Shouldly;
using Xunit;
using static Ops.Modules.Alerts.Tests.Integration.AlertsApi;
using static Ops.Testing.UsageEvents;

namespace Ops.Modules.Alerts.Tests.Integration;

/// <summary>The spend breaker on real ingestion: a $3 event is a Sonnet call with 1M input tokens.</summary>
public sealed class SpendBreakerTests(AlertsTestHost host) : IClassFixture<AlertsTestHost>
{
    private int _requests;

    [Fact]
    public async Task The_looping_user_is_killed_within_5_seconds_while_other_users_keep_working()
    {
        var tenant = await host.CreateTenantAsync();
        await using var receiver = new WebhookReceiver();
        await tenant.Admin.AddChannelAsync("hook", receiver.Url("breaker"));
        await SetBreakerAsync(tenant, limitUsd: 10);

        // $9 over three batches: at the limit's edge, not over it.
        for (var i = 0; i < 3; i++)
        {
            await tenant.Ingest.IngestAsync(Spend("looper"), Spend("calm"));
        }

        await Task.Delay(300);
        (await CheckAsync(tenant, "looper")).ShouldBeFalse("$9 is not over $10");

        await tenant.Ingest.IngestAsync(Spend("looper"));
        var clock = Stopwatch.StartNew();
        await EventuallyAsync(() => CheckAsync(tenant, "looper"), TimeSpan.FromSeconds(5), "the looping user is killed");
        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(5));
        (await CheckAsync(tenant, "calm")).ShouldBeFalse("the other user spent $9 and keeps working");
        await tenant.Ingest.IngestAsync(Event($"small{Interlocked.Increment(ref _requests)}", host.Time.GetUtcNow(), new { user_id = "calm", tokens_in = 1_000, tokens_out = 0 }));
        await Task.Delay(300);
        (await CheckAsync(tenant, "calm")).ShouldBeFalse("$9.003 is still under the limit");

        var check = (await (await tenant.Ingest.GetAsync("/v1/killswitch/check?user_id=looper")).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        check["reason"]!.GetValue<string>().ShouldContain("Spend breaker");
        check["expires_at"]!.GetValue<DateTimeOffset>().ShouldBe(host.Time.GetUtcNow().AddMinutes(60));

        await EventuallyAsync(async () => (await tenant.Read.AlertsAsync("?rule=spend_breaker")).Count == 1, TimeSpan.FromSeconds(5), "the breaker's alert is logged");
        var alert = (await tenant.Read.AlertsAsync("?rule=spend_breaker")).Single()!;
        alert["key"]!.GetValue<string>().ShouldBe("spend_breaker:user:looper");
        alert["entity_type"]!.GetValue<string>().ShouldBe("user");
        alert["value"]!.GetValue<decimal>().ShouldBe(12m);
        alert["threshold"]!.GetValue<decimal>().ShouldBe(10m);
        await EventuallyAsync(() => Task.FromResult(receiver.Received("breaker").Count == 1), TimeSpan.FromSeconds(5), "the breaker's alert is notified");

        await using var connection = new NpgsqlConnection(host.ConnectionString);
        var audited = (await connection.QueryAsync<(string Action, string Actor)>(
            "SELECT action, actor FROM audit.events WHERE tenant_id = @tenant AND action IN ('flag.set', 'alert.fired') ORDER BY event_id", new { tenant = tenant.Id })).ToList();
        audited.ShouldBe([("flag.set", "system:alerts-spend-breaker"), ("alert.fired", "system:alerts")]);

        // The alert stays firing while the kill lasts and resolves once it expires.
        (await tenant.Admin.EvaluateAsync())["resolved"]!.AsArray().ShouldBeEmpty();
        host.Time.Advance(TimeSpan.FromMinutes(61));
        (await tenant.Admin.EvaluateAsync())["resolved"]!.AsArray().Select(a => a!["key"]!.GetValue<string>()).ShouldBe(["spend_breaker:user:looper"]);
        (await CheckAsync(tenant, "looper")).ShouldBeFalse("the kill expired");
    }

    [Fact]
    public async Task Spend_committed_by_another_instance_counts_and_old_events_do_not()
    {
        var tenant = await host.CreateTenantAsync();
        await SetBreakerAsync(tenant, limitUsd: 10);
        await using var second = host.CreateSecondInstance();
        var otherIngest = host.CreateClient(tenant.IngestKey.Key, second);

        // A backfill of events older than the window never counts.
        var old = host.Time.GetUtcNow().AddMinutes(-30);
        await tenant.Ingest.IngestAsync(Spend("shared", old), Spend("shared", old), Spend("shared", old), Spend("shared", old));
        // $6 through the second instance, then $6 through the first: neither saw $12, the database did.
        await otherIngest.IngestAsync(Spend("shared"), Spend("shared"));
        await tenant.Ingest.IngestAsync(Spend("shared"), Spend("shared"));
        await EventuallyAsync(() => CheckAsync(tenant, "shared"), TimeSpan.FromSeconds(5), "the subject is killed on the combined spend");
    }

    [Fact]
    public async Task Agents_are_killed_when_the_breaker_watches_agents_and_nothing_happens_when_it_is_off_or_in_another_tenant()
    {
        var tenant = await host.CreateTenantAsync();
        var other = await host.CreateTenantAsync();
        await SetBreakerAsync(tenant, limitUsd: 5, subject: "agent");
        await SetBreakerAsync(other, limitUsd: 5, enabled: false);

        await tenant.Ingest.IngestAsync(Spend("u_a", agent: "looping-bot"), Spend("u_b", agent: "looping-bot"));
        await other.Ingest.IngestAsync(Spend("u_a", agent: "looping-bot"), Spend("u_b", agent: "looping-bot"), Spend("u_c", agent: "looping-bot"));
        await EventuallyAsync(async () => (await tenant.Ingest.GetFromJsonAsync<JsonObject>("/v1/killswitch/check?agent_id=looping-bot"))!["killed"]!.GetValue<bool>(),
            TimeSpan.FromSeconds(5), "the agent is killed");
        (await CheckAsync(tenant, "u_a")).ShouldBeFalse("users are not what this breaker watches");
        await Task.Delay(500);
        (await other.Ingest.GetFromJsonAsync<JsonObject>("/v1/killswitch/check?agent_id=looping-bot"))!["killed"]!.GetValue<bool>().ShouldBeFalse("the other tenant's breaker is off");
    }

    private JsonObject Spend(string user, DateTimeOffset? at = null, string? agent = null) =>
        Event($"r{Interlocked.Increment(ref _requests)}", at ?? host.Time.GetUtcNow(), new { user_id = user, agent_id = agent, tokens_in = 1_000_000, tokens_out = 0 });

    private static async Task<bool> CheckAsync(TestTenant tenant, string user) =>
        (await (await tenant.Ingest.GetAsync($"/v1/killswitch/check?user_id={user}")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["killed"]!.GetValue<bool>();

    private static async Task SetBreakerAsync(TestTenant tenant, decimal limitUsd, string subject = "user", bool enabled = true) =>
        await (await tenant.Admin.PutAsJsonAsync("/v1/alerts/breaker", new { enabled, subject, window_minutes = 20, limit_usd = limitUsd, kill_minutes = 60 }))
            .ShouldHaveStatusAsync(HttpStatusCode.OK);
}
