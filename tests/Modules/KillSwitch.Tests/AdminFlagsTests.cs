using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Npgsql;
using Ops.Testing;
using Shouldly;
using Xunit;

namespace Ops.Modules.KillSwitch.Tests;

/// <summary>The admin endpoints: routing of keys with ':', validation, roles, history and the audit trail.</summary>
public sealed class AdminFlagsTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    [Theory]
    [InlineData("kill:user:u_1")]
    [InlineData("kill%3Auser%3Au_1")]
    [InlineData("kill%3auser%3au_1")]
    public async Task Keys_with_colons_route_whether_encoded_or_not(string path)
    {
        var tenant = await host.CreateTenantAsync();
        var created = await tenant.Admin.PutAsJsonAsync($"/v1/admin/flags/{path}", new { value = true, reason = "abuse" });
        var body = (await created.ShouldHaveStatusAsync(HttpStatusCode.Created))!;
        body["key"]!.GetValue<string>().ShouldBe("kill:user:u_1");
        body["kind"]!.GetValue<string>().ShouldBe("kill_user");
        body["scope"]!.GetValue<string>().ShouldBe("tenant");

        foreach (var form in new[] { "kill:user:u_1", "kill%3Auser%3Au_1" })
        {
            var got = (await (await tenant.Admin.GetAsync($"/v1/admin/flags/{form}")).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
            got["key"]!.GetValue<string>().ShouldBe("kill:user:u_1");
            var history = (await (await tenant.Admin.GetAsync($"/v1/admin/flags/{form}/history")).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
            history["items"]!.AsArray().Count.ShouldBe(1);
        }

        (await tenant.Admin.DeleteAsync($"/v1/admin/flags/{path}?reason=resolved")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await tenant.Ingest.CheckAsync("u_1")).Killed().ShouldBeFalse();
    }

    [Fact]
    public async Task Model_names_may_contain_colons_and_dots()
    {
        var tenant = await host.CreateTenantAsync();
        const string model = "ft:gpt-4o-mini:acme:support:9x1";
        await tenant.Admin.SetFlagAsync($"kill:model:{Uri.EscapeDataString(model)}", true);
        (await tenant.Ingest.CheckAsync(model: model))["flag"]!.GetValue<string>().ShouldBe($"kill:model:{model}");
        await tenant.Admin.SetFlagAsync("kill:model:anthropic.claude-3-sonnet-20240229-v1:0", true);
        (await tenant.Ingest.CheckAsync(model: "anthropic.claude-3-sonnet-20240229-v1:0")).Killed().ShouldBeTrue();
    }

    [Theory]
    [InlineData("kill:team:x", "key")]
    [InlineData("kill:user:", "key")]
    [InlineData("foo:bar", "key")]
    [InlineData("KILLALL", "key")]
    [InlineData("-starts-with-dash", "key")]
    public async Task Invalid_keys_are_problems_naming_the_key(string key, string field)
    {
        var tenant = await host.CreateTenantAsync();
        var problem = await (await tenant.Admin.PutFlagAsync(Uri.EscapeDataString(key), true)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, field);
        problem["detail"]!.GetValue<string>().ShouldNotBeNullOrWhiteSpace();
        await (await tenant.Admin.GetAsync($"/v1/admin/flags/{Uri.EscapeDataString(key)}")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "key");
    }

    [Fact]
    public async Task Invalid_values_reasons_and_expiries_are_problems_naming_the_field()
    {
        var tenant = await host.CreateTenantAsync();
        await (await tenant.Admin.PutFlagAsync("killall", "yes")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "value");
        await (await tenant.Admin.PutFlagAsync("kill:user:u_1", null)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "value");
        await (await tenant.Admin.PutFlagAsync("killall", true, reason: null)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "reason");
        await (await tenant.Admin.PutFlagAsync("killall", true, reason: "  ")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "reason");
        await (await tenant.Admin.PutFlagAsync("killall", true, expiresAt: host.Time.GetUtcNow().AddSeconds(-1))).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "expires_at");
        await (await tenant.Admin.DeleteAsync("/v1/admin/flags/killall")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "reason");
        await (await tenant.Admin.DeleteAsync("/v1/admin/flags/killall?reason=nothing%20there")).ShouldBeProblemAsync(HttpStatusCode.NotFound);
        (await (await tenant.Admin.GetAsync("/v1/admin/flags")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray().ShouldBeEmpty();
    }

    [Fact]
    public async Task Invalid_feature_definitions_are_problems_naming_the_field()
    {
        var tenant = await host.CreateTenantAsync();
        var cases = new (object Value, string Field)[]
        {
            (42, "value"),
            (new { conditions = new { } }, "value.enabled"),
            (new { enabled = true, colour = "red" }, "value.colour"),
            (new { enabled = true, conditions = new { requirement_type = "Most" } }, "value.conditions.requirement_type"),
            (new { enabled = true, conditions = new { client_filters = new[] { new { name = "Microsoft.Geo" } } } }, "value.conditions.client_filters[0].name"),
            (new { enabled = true, conditions = new { client_filters = new[] { new { name = "Microsoft.Percentage", parameters = new { Value = 150 } } } } }, "value.conditions.client_filters[0].parameters.value"),
            (new { enabled = true, conditions = new { client_filters = new[] { new { name = "Microsoft.TimeWindow", parameters = new { Start = "soon" } } } } }, "value.conditions.client_filters[0].parameters.start"),
            (new { enabled = true, conditions = new { client_filters = new[] { new { name = "Microsoft.TimeWindow", parameters = new { Start = "2026-06-02T00:00:00Z", End = "2026-06-01T00:00:00Z" } } } } }, "value.conditions.client_filters[0].parameters.end"),
            (new { enabled = true, conditions = new { client_filters = new[] { new { name = "Microsoft.Targeting", parameters = new { } } } } }, "value.conditions.client_filters[0].parameters.audience"),
            (new { enabled = true, conditions = new { client_filters = new[] { new { name = "Microsoft.Targeting", parameters = new { audience = new { default_rollout_percentage = 101 } } } } } }, "value.conditions.client_filters[0].parameters.audience.default_rollout_percentage"),
            (new { enabled = true, allocation = new { default_when_enabled = "big" } }, "value.allocation.default_when_enabled"),
            (new { enabled = true, variants = new[] { new { name = "a" }, new { name = "a" } } }, "value.variants[1].name"),
        };
        foreach (var (value, field) in cases)
        {
            await (await tenant.Admin.PutFlagAsync("new-checkout", value)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, field);
        }

        (await (await tenant.Admin.GetAsync("/v1/admin/flags")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray().ShouldBeEmpty();
    }

    [Fact]
    public async Task Non_admin_keys_get_403_on_every_admin_route()
    {
        var tenant = await host.CreateTenantAsync();
        await tenant.Admin.SetFlagAsync("killall", false);
        foreach (var client in new[] { tenant.Read, tenant.Ingest })
        {
            await (await client.GetAsync("/v1/admin/flags")).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
            await (await client.GetAsync("/v1/admin/flags/killall")).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
            await (await client.GetAsync("/v1/admin/flags/killall/history")).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
            await (await client.PutFlagAsync("killall", true)).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
            await (await client.DeleteAsync("/v1/admin/flags/killall?reason=x")).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        }

        (await tenant.Ingest.CheckAsync()).Killed().ShouldBeFalse();
        (await host.CreateClient().GetAsync("/v1/admin/flags")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Put_creates_then_replaces_and_get_lists_what_was_set()
    {
        var tenant = await host.CreateTenantAsync();
        var created = await tenant.Admin.PutFlagAsync("kill:agent:bot", true, reason: "loop");
        created.StatusCode.ShouldBe(HttpStatusCode.Created);
        var replaced = await tenant.Admin.PutFlagAsync("kill:agent:bot", true, reason: "still looping", expiresAt: host.Time.GetUtcNow().AddHours(1));
        var body = (await replaced.ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        body["reason"]!.GetValue<string>().ShouldBe("still looping");
        body["set_by"]!.GetValue<string>().ShouldContain(tenant.AdminKey.Id.ToString());
        body["set_at"]!.GetValue<DateTimeOffset>().ShouldBe(host.Time.GetUtcNow());
        body["status"]!.GetValue<string>().ShouldBe("on");

        var list = (await (await tenant.Admin.GetAsync("/v1/admin/flags")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray();
        list.Select(f => f!["key"]!.GetValue<string>()).ShouldBe(["kill:agent:bot"]);
        list[0]!["expires_at"]!.GetValue<DateTimeOffset>().ShouldBe(host.Time.GetUtcNow().AddHours(1));
    }

    [Fact]
    public async Task Every_change_is_in_the_history_and_the_audit_log_with_before_and_after()
    {
        var tenant = await host.CreateTenantAsync();
        await tenant.Admin.SetFlagAsync("kill:user:u_7", true, reason: "leaked context");
        await tenant.Admin.SetFlagAsync("kill:user:u_7", true, reason: "extended", expiresAt: host.Time.GetUtcNow().AddHours(2));
        await tenant.Admin.ClearFlagAsync("kill:user:u_7", "customer verified");

        var history = (await (await tenant.Admin.GetAsync("/v1/admin/flags/kill:user:u_7/history")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray();
        history.Select(h => h!["action"]!.GetValue<string>()).ShouldBe(["cleared", "set", "set"]);
        history[0]!["before"]!["reason"]!.GetValue<string>().ShouldBe("extended");
        history[0]!["after"].ShouldBeNull();
        history[0]!["reason"]!.GetValue<string>().ShouldBe("customer verified");
        history[1]!["before"]!["reason"]!.GetValue<string>().ShouldBe("leaked context");
        history[1]!["after"]!["expires_at"].ShouldNotBeNull();
        history[2]!["before"].ShouldBeNull();
        history[2]!["actor"]!.GetValue<string>().ShouldContain(tenant.AdminKey.Id.ToString());

        var paged = (await (await tenant.Admin.GetAsync("/v1/admin/flags/kill:user:u_7/history?limit=2")).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        paged["items"]!.AsArray().Count.ShouldBe(2);
        var next = paged["next_before"]!.GetValue<long>();
        var rest = (await (await tenant.Admin.GetAsync($"/v1/admin/flags/kill:user:u_7/history?limit=2&before={next}")).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        rest["items"]!.AsArray().Single()!["before"].ShouldBeNull();
        rest["next_before"].ShouldBeNull();

        await using var connection = new NpgsqlConnection(host.ConnectionString);
        var audit = (await connection.QueryAsync<(string Action, string Actor, string Details)>(
            "SELECT action, actor, details::text FROM audit.events WHERE tenant_id = @tenant AND action LIKE 'flag.%' ORDER BY ts, event_id",
            new { tenant = tenant.Id })).ToList();
        audit.Select(a => a.Action).ShouldBe(["flag.set", "flag.set", "flag.cleared"]);
        audit.ShouldAllBe(a => a.Actor.Contains(tenant.AdminKey.Id.ToString()));
        var first = JsonNode.Parse(audit[0].Details)!;
        first["target"]!.GetValue<string>().ShouldBe("flag:kill:user:u_7");
        first["before"].ShouldBeNull();
        first["after"]!["value"]!.GetValue<bool>().ShouldBeTrue();
        first["after"]!["reason"]!.GetValue<string>().ShouldBe("leaked context");
        first["reason"]!.GetValue<string>().ShouldBe("leaked context");
        var second = JsonNode.Parse(audit[1].Details)!;
        second["before"]!["reason"]!.GetValue<string>().ShouldBe("leaked context");
        second["after"]!["reason"]!.GetValue<string>().ShouldBe("extended");
        var cleared = JsonNode.Parse(audit[2].Details)!;
        cleared["before"]!["reason"]!.GetValue<string>().ShouldBe("extended");
        cleared["after"].ShouldBeNull();
        cleared["reason"]!.GetValue<string>().ShouldBe("customer verified");
    }

    [Fact]
    public async Task A_platform_flag_change_is_audited_under_the_acting_tenant()
    {
        await host.Platform.SetFlagAsync("read_only", false, reason: "drill", scope: "platform");
        await using var connection = new NpgsqlConnection(host.ConnectionString);
        var targets = (await connection.QueryAsync<string>(
            "SELECT details->>'target' FROM audit.events WHERE tenant_id = @tenant AND action = 'flag.set'", new { tenant = TestKeys.DefaultTenant })).ToList();
        targets.ShouldContain("platform:flag:read_only");
        await host.Platform.ClearFlagAsync("read_only", "drill over", scope: "platform");
    }
}
