using System.Net;
using System.Text.Json.Nodes;
using Ops.Testing;
using Shouldly;
using Xunit;
using static Ops.Modules.Usage.Tests.Integration.EventRequests;
using static Ops.Testing.UsageEvents;

namespace Ops.Modules.Usage.Tests.Integration;

public sealed class IngestionTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    private UsageDatabase Db => new(host.ConnectionString);

    [Fact]
    public async Task The_seed_line_is_accepted_as_it_is_priced_by_us_and_rolled_up_and_audited()
    {
        var tenant = await host.CreateTenantAsync();
        host.Time.AdvanceTo(SeedLineTime.AddMinutes(1));
        var report = (await (await tenant.Ingest.PostEventsAsync(SeedLine)).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        report["accepted"]!.GetValue<int>().ShouldBe(1);
        report["duplicates"]!.GetValue<int>().ShouldBe(0);
        report["rejected"]!.GetValue<int>().ShouldBe(0);

        var stored = (await Db.QueryAsync<(decimal Cost, decimal Reported, string Version, string Provider, string Action, bool Unpriced, DateTime Ts)>(
            "SELECT cost_usd, reported_cost_usd, pricing_version, provider, action, unpriced, ts FROM usage.events WHERE tenant_id = @t AND request_id = 'r_91c2'",
            new { t = tenant.Id })).Single();
        stored.Cost.ShouldBe(0.068805m, "412 × $15/1M + 835 × $75/1M: our price, not the client's 0.0042");
        stored.Reported.ShouldBe(0.0042m);
        stored.Version.ShouldBe("2026-04-15");
        stored.Provider.ShouldBe("anthropic");
        stored.Action.ShouldBe("chat.reply");
        stored.Unpriced.ShouldBeFalse();
        stored.Ts.ShouldBe(new DateTime(2026, 5, 18, 14, 23, 11, DateTimeKind.Utc));

        await host.FoldAsync(); // waits for the background fold too, which may have taken the event already
        var hourly = (await Db.QueryAsync<(long Requests, long TokensIn, long TokensOut, decimal Cost, string Version, string Sketch, long LatencySum)>(
            "SELECT requests, tokens_in, tokens_out, cost_usd, pricing_version, latency_sketch::text, latency_sum_ms FROM usage.hourly_rollup WHERE tenant_id = @t AND hour = '2026-05-18T14:00:00Z'",
            new { t = tenant.Id })).Single();
        (hourly.Requests, hourly.TokensIn, hourly.TokensOut, hourly.Cost, hourly.Version, hourly.LatencySum).ShouldBe((1L, 412L, 835L, 0.068805m, "2026-04-15", 2310L));
        hourly.Sketch.ShouldBe(Sketches.LatencySketchOf(2310));

        var daily = (await Db.QueryAsync<(string User, long Requests, decimal Cost, string Version)>(
            "SELECT user_id, requests, cost_usd, pricing_version FROM usage.usage_daily WHERE tenant_id = @t AND day = '2026-05-18' AND model = 'claude-opus-4-7'",
            new { t = tenant.Id })).Single();
        daily.ShouldBe(("u_8a3f", 1L, 0.068805m, "2026-04-15"));
        (await Db.ScalarAsync<long>("SELECT count(*) FROM usage.daily_active_users WHERE tenant_id = @t AND day = '2026-05-18' AND user_id = 'u_8a3f'", new { t = tenant.Id })).ShouldBe(1);

        var audit = (await Db.QueryAsync<(string Action, string User, string Details)>(
            "SELECT action, user_id, details::text FROM audit.events WHERE tenant_id = @t AND request_id = 'r_91c2'", new { t = tenant.Id })).Single();
        audit.Action.ShouldBe("chat.reply");
        audit.User.ShouldBe("u_8a3f");
        var details = JsonNode.Parse(audit.Details)!;
        details["tokens_in"]!.GetValue<int>().ShouldBe(412);
        details["cost_usd"]!.GetValue<decimal>().ShouldBe(0.068805m);
        details["latency_ms"]!.GetValue<int>().ShouldBe(2310);
        details["model"]!.GetValue<string>().ShouldBe("claude-opus-4-7");
    }

    [Fact]
    public async Task A_batch_with_invalid_events_stores_the_valid_ones_and_reports_each_invalid_one_by_index()
    {
        var tenant = await host.CreateTenantAsync();
        var at = OpsTestHost.Epoch.AddMinutes(-10);
        var response = await tenant.Ingest.PostEventsAsync(
        [
            Event("b-0", at),
            Event("b-1", at, new { tokens_in = -5 }),
            Event("b-2", at, new { cache_read_tokens = 900, cache_write_tokens = 200 }),
            Event("b-3", at, new { agent_id = "support-bot", channel = "Slack", session_id = "s-1" }),
            Event("b-4", at, new { ts = "yesterday", model = "" }),
        ]);
        var report = (await response.ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        report["accepted"]!.GetValue<int>().ShouldBe(2);
        report["rejected"]!.GetValue<int>().ShouldBe(3);
        var errors = report["errors"]!.AsArray();
        errors.Select(e => e!["index"]!.GetValue<int>()).ShouldBe([1, 2, 4]);
        errors[0]!["request_id"]!.GetValue<string>().ShouldBe("b-1");
        errors[0]!["errors"]!.AsArray().Select(e => e!["name"]!.GetValue<string>()).ShouldBe(["tokens_in"]);
        errors[1]!["errors"]!.AsArray().Select(e => e!["name"]!.GetValue<string>()).ShouldBe(["cache_write_tokens"]);
        errors[2]!["errors"]!.AsArray().Select(e => e!["name"]!.GetValue<string>()).Order().ShouldBe(["model", "ts"]);

        (await Db.QueryAsync<string>("SELECT request_id FROM usage.events WHERE tenant_id = @t ORDER BY request_id", new { t = tenant.Id })).ShouldBe(["b-0", "b-3"]);
        await host.FoldAsync();
        (await Db.QueryAsync<(string Agent, string Channel, string Session)>(
            "SELECT agent_id, channel, session_id FROM usage.activity_daily WHERE tenant_id = @t AND agent_id <> ''", new { t = tenant.Id }))
            .ShouldBe([("support-bot", "slack", "s-1")]);
    }

    [Fact]
    public async Task A_lone_invalid_event_is_a_400_naming_its_fields_and_a_body_that_is_not_json_is_a_400()
    {
        var tenant = await host.CreateTenantAsync();
        await (await tenant.Ingest.PostEventsAsync("""{"request_id":"x","user_id":"u","model":"m","tokens_in":1}"""))
            .ShouldBeProblemAsync(HttpStatusCode.BadRequest, "tokens_out");
        await (await tenant.Ingest.PostEventsAsync("""[{"request_id":"x"}, 5]""")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "[1].body");
        await (await tenant.Ingest.PostEventsAsync("{not json")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "body");
        (await Db.EventCountAsync(tenant.Id)).ShouldBe(0);
    }

    [Fact]
    public async Task Ndjson_lines_are_events_and_a_broken_line_is_rejected_alone()
    {
        var tenant = await host.CreateTenantAsync();
        host.Time.AdvanceTo(SeedLineTime.AddMinutes(1));
        var at = OpsTestHost.Epoch.AddMinutes(-1);
        var report = (await (await tenant.Ingest.PostNdjsonAsync(
        [
            Event("n-0", at).ToJsonString(),
            "{broken",
            Event("n-2", at).ToJsonString(),
            SeedLine,
        ])).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        report["accepted"]!.GetValue<int>().ShouldBe(3);
        report["errors"]!.AsArray().Single()!["index"]!.GetValue<int>().ShouldBe(1);
        (await Db.EventCountAsync(tenant.Id)).ShouldBe(3);
    }

    [Fact]
    public async Task Timestamps_more_than_five_minutes_ahead_are_rejected_and_a_missing_one_is_the_receive_time()
    {
        var tenant = await host.CreateTenantAsync();
        var now = host.Time.GetUtcNow();
        var report = (await (await tenant.Ingest.PostEventsAsync(
        [
            Event("f-ok", now.AddMinutes(5)),
            Event("f-late", now.AddMinutes(5).AddSeconds(1)),
            Event("f-none", now, new { ts = (string?)null }),
        ])).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        report["accepted"]!.GetValue<int>().ShouldBe(2);
        var rejected = report["errors"]!.AsArray().Single()!;
        rejected["request_id"]!.GetValue<string>().ShouldBe("f-late");
        rejected["errors"]![0]!["name"]!.GetValue<string>().ShouldBe("ts");

        (await Db.ScalarAsync<DateTime>("SELECT ts FROM usage.events WHERE tenant_id = @t AND request_id = 'f-none'", new { t = tenant.Id }))
            .ShouldBe(now.UtcDateTime);
    }

    [Fact]
    public async Task An_unknown_model_is_stored_unpriced_at_cost_zero_and_counted()
    {
        var tenant = await host.CreateTenantAsync();
        var report = (await (await tenant.Ingest.PostEventsAsync([Event("u-1", OpsTestHost.Epoch, new { model = "gpt-9" }), Event("u-2", OpsTestHost.Epoch)]))
            .ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        report["accepted"]!.GetValue<int>().ShouldBe(2);
        report["unpriced"]!.GetValue<int>().ShouldBe(1);

        var row = (await Db.QueryAsync<(decimal Cost, bool Unpriced, string Provider, string Version)>(
            "SELECT cost_usd, unpriced, provider, pricing_version FROM usage.events WHERE tenant_id = @t AND request_id = 'u-1'", new { t = tenant.Id })).Single();
        row.ShouldBe((0m, true, "unknown", "2026-04-15"));
        await host.FoldAsync();
        (await Db.ScalarAsync<long>("SELECT sum(unpriced_requests) FROM usage.hourly_rollup WHERE tenant_id = @t", new { t = tenant.Id })).ShouldBe(1);
        (await Db.ScalarAsync<long>("SELECT sum(unpriced_requests) FROM usage.usage_daily WHERE tenant_id = @t", new { t = tenant.Id })).ShouldBe(1);
    }

    [Fact]
    public async Task Errors_and_critical_errors_are_counted_by_action()
    {
        var tenant = await host.CreateTenantAsync();
        var at = OpsTestHost.Epoch;
        (await tenant.Ingest.PostEventsAsync(
        [
            Event("e-1", at, new { status = "error", error_type = "timeout", severity = "critical", action = "chat.reply" }),
            Event("e-2", at, new { error_type = "rate_limit", action = "chat.reply" }),
            Event("e-3", at, new { status = "ok", severity = "critical" }),
        ])).StatusCode.ShouldBe(HttpStatusCode.OK);
        await host.FoldAsync();

        (await Db.QueryAsync<(long Errors, long Critical)>("SELECT errors, critical_errors FROM usage.hourly_rollup WHERE tenant_id = @t", new { t = tenant.Id }))
            .Single().ShouldBe((2L, 1L));
        (await Db.QueryAsync<(string Action, string Severity, string Type, long Errors)>(
            "SELECT action, severity, error_type, errors FROM usage.error_hourly WHERE tenant_id = @t ORDER BY error_type", new { t = tenant.Id }))
            .ShouldBe([("chat.reply", "", "rate_limit", 1L), ("chat.reply", "critical", "timeout", 1L)]);
    }
}
