using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Ops.Testing;
using Shouldly;
using Xunit;

namespace Ops.Modules.Usage.Tests.Integration;

/// <summary>The by-* breakdowns, model mix and errors by action on <see cref="MetricsData"/> (30 days: m1–m6, $27.80).</summary>
public sealed class BreakdownTests(OpsTestHost host) : MetricsDataTests(host), IClassFixture<OpsTestHost>
{
    private async Task<JsonArray> Items(string path, TestTenant? tenant = null) =>
        (await (await (tenant ?? Tenant).Read.GetAsync(path)).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray();

    private static string? S(JsonNode? n) => n?.GetValue<string>();

    [Fact]
    public async Task By_agent_is_the_payroll_view_with_each_agents_budget_for_its_own_period()
    {
        (await Tenant.Admin.PutAsJsonAsync("/v1/budgets/agent/bot-1", new { period = "month", limit_usd = 10 })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await Tenant.Admin.PutAsJsonAsync("/v1/budgets/agent/bot-2", new { period = "day", limit_usd = 10 })).StatusCode.ShouldBe(HttpStatusCode.OK);
        var items = await Items("/v1/usage/by-agent?period=30d");
        items.Select(i => (S(i!["agent_id"]), i["cost_usd"]!.GetValue<decimal>(), i["llm_call_count"]!.GetValue<long>(), i["total_tokens"]!.GetValue<long>()))
            .ShouldBe([("bot-2", 15m, 1L, 1_000_000L), ("bot-1", 6.8m, 3L, 2_600_000L), (null, 6m, 2L, 2_000_000L)]);
        items.Select(i => (S(i!["budget_status"]), S(i["budget_period"]), i["budget_limit_usd"]?.GetValue<decimal>(), i["budget_used_pct"]?.GetValue<decimal>()))
            .ShouldBe([("exceeded", "day", 10m, 150m), ("ok", "month", 10m, 68m), ("no_limit", null, null, null)]);

        (await Items("/v1/usage/by-agent?period=24h&channel=slack")).Select(i => (S(i!["agent_id"]), i["cost_usd"]!.GetValue<decimal>())).ShouldBe([("bot-1", 3.8m)]);
        (await Items("/v1/usage/by-agent", Other)).Select(i => (S(i!["agent_id"]), S(i["budget_status"]))).ShouldBe([("bot-1", "no_limit")]);
    }

    [Fact]
    public async Task By_provider_and_by_channel()
    {
        var providers = await Items("/v1/usage/by-provider");
        providers.Select(p => (S(p!["provider"]), p["requests"]!.GetValue<long>(), p["cost_usd"]!.GetValue<decimal>(), p["tokens_in"]!.GetValue<long>(), p["tokens_out"]!.GetValue<long>()))
            .ShouldBe([("anthropic", 6L, 27.8m, 5_500_000L, 100_000L)]);
        var channels = await Items("/v1/usage/by-channel");
        channels.Select(c => (S(c!["channel"]), c["message_count"]!.GetValue<long>(), c["cost_usd"]!.GetValue<decimal>()))
            .ShouldBe([("web", 1L, 15m), (null, 3L, 9m), ("slack", 2L, 3.8m)]);
        (await Items("/v1/usage/by-channel", Other)).Select(c => S(c!["channel"])).ShouldBe(["sms"]);
    }

    [Fact]
    public async Task By_session_and_by_user_list_the_top_by_cost_across_whole_days_and_edge_hours()
    {
        var sessions = await Items("/v1/usage/by-session?period=30d");
        sessions.Select(s => (S(s!["session_id"]), s["requests"]!.GetValue<long>(), s["cost_usd"]!.GetValue<decimal>(), s["errors"]!.GetValue<long>()))
            .ShouldBe([("s2", 1L, 15m, 1L), ("s1", 2L, 3.8m, 0L)]);
        sessions[1]!["first_seen"]!.GetValue<DateTimeOffset>().ShouldBe(MetricsData.M3);
        sessions[1]!["last_seen"]!.GetValue<DateTimeOffset>().ShouldBe(MetricsData.M1);
        (await Items("/v1/usage/by-session?period=30d&top=1")).Count.ShouldBe(1);

        var users = await Items("/v1/usage/by-user?period=30d&top=2");
        users.Select(u => (S(u!["user_id"]), u["cost_usd"]!.GetValue<decimal>(), u["requests"]!.GetValue<long>())).ShouldBe([("b", 15m, 1L), ("a", 3.8m, 2L)]);
        (await Items("/v1/usage/by-user?period=30d")).Select(u => S(u!["user_id"])).ShouldBe(["b", "a", "c", "d", "e"], "ties by requests, then id");
        (await Items("/v1/usage/by-user?period=30d&agent_id=bot-1")).Select(u => (S(u!["user_id"]), u["cost_usd"]!.GetValue<decimal>()))
            .ShouldBe([("a", 3.8m), ("d", 3m)]);
        // Whole days come from usage_daily unless a filter it cannot answer (provider, agent, channel, session) is given.
        (await Items("/v1/usage/by-user?period=30d&model=claude-sonnet-4-7")).Select(u => (S(u!["user_id"]), u["cost_usd"]!.GetValue<decimal>()))
            .ShouldBe([("a", 3m), ("c", 3m), ("d", 3m), ("e", 3m)]);
        (await Items("/v1/usage/by-user?period=30d&user_id=a,d")).Select(u => (S(u!["user_id"]), u["cost_usd"]!.GetValue<decimal>(), u["requests"]!.GetValue<long>()))
            .ShouldBe([("a", 3.8m, 2L), ("d", 3m, 1L)]);
        (await Items("/v1/usage/by-user?period=30d&provider=anthropic")).Select(u => S(u!["user_id"])).ShouldBe(["b", "a", "c", "d", "e"]);
        (await Items("/v1/usage/by-user", Other)).Select(u => S(u!["user_id"])).ShouldBe(["zed"]);
        await (await Tenant.Read.GetAsync("/v1/usage/by-user?top=0")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "top");
        await (await Tenant.Read.GetAsync("/v1/usage/by-session?top=5000")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "top");
    }

    [Fact]
    public async Task Model_mix_gives_each_models_share_of_requests_and_cost()
    {
        var mix = await Items("/v1/usage/model-mix?period=30d");
        mix.Select(m => (S(m!["model"]), m["requests"]!.GetValue<long>(), m["requests_pct"]!.GetValue<decimal>(), m["cost_usd"]!.GetValue<decimal>(), m["cost_pct"]!.GetValue<decimal>()))
            .ShouldBe([
                ("claude-opus-4-7", 1L, 16.67m, 15m, 53.96m),
                ("claude-sonnet-4-7", 4L, 66.67m, 12m, 43.17m),
                ("claude-haiku-4-7", 1L, 16.67m, 0.8m, 2.88m),
            ]);
    }

    [Fact]
    public async Task Errors_by_action_read_the_hourly_error_rollup_or_raw_events_for_a_user_over_a_short_window()
    {
        (await Items("/v1/usage/errors/by-action?period=30d")).Select(e => (S(e!["action"]), e["errors"]!.GetValue<long>(), e["critical_errors"]!.GetValue<long>()))
            .ShouldBe([("chat.reply", 1L, 0L)]);
        (await Items("/v1/usage/errors/by-action?period=24h&user_id=b")).Select(e => S(e!["action"])).ShouldBe(["chat.reply"]);
        (await Items("/v1/usage/errors/by-action?period=24h&user_id=a")).ShouldBeEmpty();
        (await Items("/v1/usage/errors/by-action?period=24h&model=claude-sonnet-4-7")).ShouldBeEmpty();
        await (await Tenant.Read.GetAsync("/v1/usage/errors/by-action?period=30d&user_id=b")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "user_id");
        (await Items("/v1/usage/errors/by-action", Other)).Select(e => S(e!["action"])).ShouldBe(["llm.call"]);
    }

    [Theory]
    [InlineData("/v1/usage/by-agent", "llm_call_count")]
    [InlineData("/v1/usage/by-provider", "requests")]
    [InlineData("/v1/usage/by-channel", "message_count")]
    [InlineData("/v1/usage/by-session", "requests")]
    [InlineData("/v1/usage/by-user", "requests")]
    [InlineData("/v1/usage/model-mix", "requests")]
    [InlineData("/v1/usage/errors/by-action", "errors")]
    public async Task Every_breakdown_shows_only_the_callersTenant(string path, string count)
    {
        var others = await Items(path + "?period=30d", Other);
        others.Sum(i => i![count]!.GetValue<long>()).ShouldBe(1L, "the other tenant's one call");
        (await Items(path + "?period=30d")).Sum(i => i![count]!.GetValue<long>()).ShouldBeGreaterThan(0L, "while the caller sees its own");
    }

    [Theory]
    [InlineData("/v1/usage/by-agent")]
    [InlineData("/v1/usage/by-provider")]
    [InlineData("/v1/usage/by-channel")]
    [InlineData("/v1/usage/by-session")]
    [InlineData("/v1/usage/by-user")]
    [InlineData("/v1/usage/model-mix")]
    [InlineData("/v1/usage/errors/by-action")]
    public async Task Every_breakdown_takes_the_common_filters_and_needs_role_read(string path)
    {
        await (await Tenant.Read.GetAsync(path + "?period=week")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "period");
        (await Tenant.Ingest.GetAsync(path)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        var body = (await (await Tenant.Read.GetAsync(path + "?period=7d")).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        body["period"]!["name"]!.GetValue<string>().ShouldBe("7d");
    }
}
