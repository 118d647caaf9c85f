using System.Net;
using Ops.Testing;
using Shouldly;
using Xunit;

namespace Ops.Modules.KillSwitch.Tests;

/// <summary>Each kind of flag, set, cleared and expired, as the check agents call sees it.</summary>
public sealed class CheckTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    public static TheoryData<string, string?, string?, string?, string> KillFlags => new()
    {
        // key, user, agent, model, expected scope
        { "killall", null, null, null, "tenant" },
        { "kill:user:u_1", "u_1", null, null, "user" },
        { "kill:agent:support-bot", null, "support-bot", null, "agent" },
        { "kill:model:claude-opus-4-7", null, null, "claude-opus-4-7", "model" },
    };

    [Theory]
    [MemberData(nameof(KillFlags))]
    public async Task Setting_and_clearing_a_kill_flag_changes_the_check(string key, string? user, string? agent, string? model, string scope)
    {
        var tenant = await host.CreateTenantAsync();
        (await tenant.Ingest.CheckAsync(user, agent, model)).Killed().ShouldBeFalse();

        await tenant.Admin.SetFlagAsync(key, true, reason: "runaway loop");
        var killed = await tenant.Ingest.CheckAsync(user, agent, model);
        killed.Killed().ShouldBeTrue();
        killed["reason"]!.GetValue<string>().ShouldBe("runaway loop");
        killed["scope"]!.GetValue<string>().ShouldBe(scope);
        killed["flag"]!.GetValue<string>().ShouldBe(key);
        killed["retry_after_s"]!.GetValue<int>().ShouldBe(30);
        killed["stale"]!.GetValue<bool>().ShouldBeFalse();
        (await tenant.Read.CheckAsync(user, agent, model)).Killed().ShouldBeTrue("read keys may check too");

        await tenant.Admin.ClearFlagAsync(key);
        (await tenant.Ingest.CheckAsync(user, agent, model)).Killed().ShouldBeFalse();
    }

    [Fact]
    public async Task A_per_subject_kill_stops_only_that_subject()
    {
        var tenant = await host.CreateTenantAsync();
        await tenant.Admin.SetFlagAsync("kill:user:u_1", true);
        await tenant.Admin.SetFlagAsync("kill:model:gpt-4o", true);

        (await tenant.Ingest.CheckAsync("u_2", "bot", "claude-sonnet-4")).Killed().ShouldBeFalse();
        (await tenant.Ingest.CheckAsync("u_2", "bot", "gpt-4o"))["scope"]!.GetValue<string>().ShouldBe("model");
        (await tenant.Ingest.CheckAsync("u_1", "bot", "claude-sonnet-4"))["scope"]!.GetValue<string>().ShouldBe("user");
        (await tenant.Ingest.CheckAsync()).Killed().ShouldBeFalse("no user, agent or model: only killall applies");
    }

    [Fact]
    public async Task A_flag_set_to_false_is_kept_but_stops_nothing()
    {
        var tenant = await host.CreateTenantAsync();
        await tenant.Admin.SetFlagAsync("killall", false, reason: "armed, not pulled");
        (await tenant.Ingest.CheckAsync("u_1")).Killed().ShouldBeFalse();
        var flag = (await (await tenant.Admin.GetAsync("/v1/admin/flags/killall")).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        flag["status"]!.GetValue<string>().ShouldBe("off");
    }

    [Fact]
    public async Task Read_only_mode_is_reported_without_killing()
    {
        var tenant = await host.CreateTenantAsync();
        await tenant.Admin.SetFlagAsync("read_only", true, reason: "migrating the CRM");
        var check = await tenant.Ingest.CheckAsync("u_1");
        check.Killed().ShouldBeFalse();
        check["read_only"]!.GetValue<bool>().ShouldBeTrue();
        check["read_only_reason"]!.GetValue<string>().ShouldBe("migrating the CRM");
        check["retry_after_s"].ShouldBeNull();

        await tenant.Admin.ClearFlagAsync("read_only");
        (await tenant.Ingest.CheckAsync("u_1"))["read_only"]!.GetValue<bool>().ShouldBeFalse();
    }

    [Fact]
    public async Task An_expiring_kill_stops_applying_at_its_expiry_on_the_fake_clock()
    {
        var tenant = await host.CreateTenantAsync();
        var expiresAt = host.Time.GetUtcNow().AddHours(2);
        await tenant.Admin.SetFlagAsync("kill:user:u_9", true, reason: "block for 2 hours", expiresAt: expiresAt);

        var killed = await tenant.Ingest.CheckAsync("u_9");
        killed.Killed().ShouldBeTrue();
        killed["retry_after_s"]!.GetValue<int>().ShouldBe(7200);
        killed["expires_at"]!.GetValue<DateTimeOffset>().ShouldBe(expiresAt);

        host.Time.Advance(TimeSpan.FromHours(2) - TimeSpan.FromSeconds(1));
        var almost = await tenant.Ingest.CheckAsync("u_9");
        almost.Killed().ShouldBeTrue();
        almost["retry_after_s"]!.GetValue<int>().ShouldBe(1);

        host.Time.Advance(TimeSpan.FromSeconds(1));
        (await tenant.Ingest.CheckAsync("u_9")).Killed().ShouldBeFalse("the kill expired exactly at expires_at");
        var listed = (await (await tenant.Admin.GetAsync("/v1/admin/flags/kill:user:u_9")).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        listed["status"]!.GetValue<string>().ShouldBe("expired");
    }

    [Theory]
    [InlineData("killall")]
    [InlineData("read_only")]
    [InlineData("kill:agent:a")]
    public async Task Every_kind_of_flag_expires(string key)
    {
        var tenant = await host.CreateTenantAsync();
        await tenant.Admin.SetFlagAsync(key, true, expiresAt: host.Time.GetUtcNow().AddMinutes(5));
        var before = await tenant.Ingest.CheckAsync(agentId: "a");
        (before.Killed() || before["read_only"]!.GetValue<bool>()).ShouldBeTrue();

        host.Time.Advance(TimeSpan.FromMinutes(5));
        var after = await tenant.Ingest.CheckAsync(agentId: "a");
        after.Killed().ShouldBeFalse();
        after["read_only"]!.GetValue<bool>().ShouldBeFalse();
    }

    [Fact]
    public async Task Tenant_A_kill_never_affects_tenant_B()
    {
        var a = await host.CreateTenantAsync();
        var b = await host.CreateTenantAsync();
        await a.Admin.SetFlagAsync("killall", true);
        await a.Admin.SetFlagAsync("kill:user:shared-user", true);
        await a.Admin.SetFlagAsync("read_only", true);

        (await a.Ingest.CheckAsync("shared-user")).Killed().ShouldBeTrue();
        var other = await b.Ingest.CheckAsync("shared-user");
        other.Killed().ShouldBeFalse();
        other["read_only"]!.GetValue<bool>().ShouldBeFalse();
        (await (await b.Admin.GetAsync("/v1/admin/flags/killall")).ShouldBeProblemAsync(HttpStatusCode.NotFound)).ShouldNotBeNull();
        var bFlags = (await (await b.Admin.GetAsync("/v1/admin/flags")).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        bFlags["items"]!.AsArray().ShouldBeEmpty();
    }

    [Fact]
    public async Task A_platform_killall_halts_every_tenant_and_only_a_platform_admin_sets_it()
    {
        var a = await host.CreateTenantAsync();
        var b = await host.CreateTenantAsync();
        await (await a.Admin.PutFlagAsync("killall", true, scope: "platform")).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await (await host.Platform.PutFlagAsync("kill:user:u_1", true, scope: "platform")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "key");

        await host.Platform.SetFlagAsync("killall", true, reason: "provider incident", scope: "platform");
        try
        {
            foreach (var tenant in new[] { a, b })
            {
                var check = await tenant.Ingest.CheckAsync("u_1");
                check.Killed().ShouldBeTrue();
                check["scope"]!.GetValue<string>().ShouldBe("platform");
                check["reason"]!.GetValue<string>().ShouldBe("provider incident");
            }

            var platformFlags = (await (await a.Admin.GetAsync("/v1/admin/flags?scope=platform")).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
            platformFlags["items"]!.AsArray().Single()!["scope"]!.GetValue<string>().ShouldBe("platform");
            (await (await a.Admin.GetAsync("/v1/admin/flags")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray().ShouldBeEmpty();
            await (await a.Admin.DeleteAsync("/v1/admin/flags/killall?scope=platform&reason=x")).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        }
        finally
        {
            await host.Platform.ClearFlagAsync("killall", "incident over", scope: "platform");
        }

        (await a.Ingest.CheckAsync("u_1")).Killed().ShouldBeFalse();
    }

    [Fact]
    public async Task The_check_needs_an_ingest_or_read_key()
    {
        var tenant = await host.CreateTenantAsync();
        (await host.CreateClient().GetAsync("/v1/killswitch/check")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await tenant.Admin.CheckAsync()).Killed().ShouldBeFalse("admin implies read");
        await (await tenant.Ingest.GetAsync($"/v1/killswitch/check?user_id={new string('u', 201)}")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "user_id");
    }
}
