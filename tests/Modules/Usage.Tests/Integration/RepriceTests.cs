using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Ops.Testing;
using Shouldly;
using Xunit;
using static Ops.Modules.Usage.Tests.Integration.EventRequests;
using static Ops.Testing.UsageEvents;

namespace Ops.Modules.Usage.Tests.Integration;

public sealed class RepriceTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    private static readonly DateTimeOffset May10 = new(2026, 5, 10, 9, 30, 0, TimeSpan.Zero);

    private UsageDatabase Db => new(host.ConnectionString);

    [Fact]
    public async Task Adding_a_version_changes_no_stored_number_and_repricing_back_reproduces_the_old_numbers_exactly()
    {
        var tenant = await host.CreateTenantAsync();
        var events = new List<JsonObject>
        {
            Event("rp-1", May10, new { model = "claude-opus-4-7", user_id = "u1", tokens_in = 412, tokens_out = 835, cache_read_tokens = 12 }),
            Event("rp-2", May10.AddMinutes(45), new { model = "claude-opus-4-7", user_id = "u2", tokens_in = 1_000, tokens_out = 10, agent_id = "bot" }),
            Event("rp-3", May10, new { model = "claude-sonnet-4-7", user_id = "u1", session_id = "s1" }),
            Event("rp-4", May10, new { model = "claude-haiku-4-7", user_id = "u3", channel = "web" }),
            Event("rp-5", May10, new { model = "gpt-9", user_id = "u3" }),
        };
        (await tenant.Ingest.PostEventsAsync(events)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var original = await RollupStateAsync(tenant.Id);
        original.ShouldContain(r => r.Version == "2026-04-15" && r.Unpriced == 1, "gpt-9 has no price");
        await ShouldMatchRawEventsAsync(tenant.Id);

        (await host.Platform.PostAsJsonAsync("/v1/admin/pricing/versions",
            PricingTests.NewVersion("2026-06-01", null, ("claude-opus-4-7", 10m, 50m, null), ("claude-sonnet-4-7", 2m, 10m, null), ("gpt-9", 1m, 2m, null))))
            .StatusCode.ShouldBe(HttpStatusCode.Created);
        (await RollupStateAsync(tenant.Id)).ShouldBe(original, "a new version never changes stored numbers");

        var repriced = (await (await tenant.Admin.PostAsJsonAsync("/v1/admin/pricing/reprice", new { from = "2026-05-10", to = "2026-05-10", version = "2026-06-01", reason = "July price cut" }))
            .ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        repriced["events"]!.GetValue<long>().ShouldBe(5);
        repriced["cost_before_usd"]!.GetValue<decimal>().ShouldBe(original.Where(r => r.Table == "usage_daily").Sum(r => r.Cost));
        var expectedAfter = (412 - 12 + 12) * 10m / 1e6m + (835 * 50m / 1e6m) + (1_000 * 10m / 1e6m) + (10 * 50m / 1e6m)
                            + (1_000 * 2m / 1e6m) + (200 * 10m / 1e6m) + (1_000 * 1m / 1e6m) + (200 * 2m / 1e6m);
        repriced["cost_after_usd"]!.GetValue<decimal>().ShouldBe(expectedAfter);
        await ShouldMatchRawEventsAsync(tenant.Id);
        var afterReprice = await RollupStateAsync(tenant.Id);
        afterReprice.Where(r => r.Key.Contains("haiku", StringComparison.Ordinal)).ShouldAllBe(r => r.Version == "2026-06-01" && r.Cost == 0 && r.Unpriced == 1);
        afterReprice.Where(r => r.Key.Contains("gpt-9", StringComparison.Ordinal)).ShouldAllBe(r => r.Version == "2026-06-01" && r.Cost > 0 && r.Unpriced == 0);

        // Events arriving late for a repriced day use the version of the reprice.
        (await tenant.Ingest.PostEventsAsync([Event("rp-late", May10, new { model = "claude-opus-4-7", user_id = "u-late", agent_id = "late-agent" })])).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await Db.ScalarAsync<string>("SELECT pricing_version FROM usage.events WHERE tenant_id = @t AND request_id = 'rp-late'", new { t = tenant.Id })).ShouldBe("2026-06-01");

        (await tenant.Admin.PostAsJsonAsync("/v1/admin/pricing/reprice", new { from = "2026-05-10", to = "2026-05-10", version = "2026-04-15" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await RollupStateAsync(tenant.Id)).Where(r => !r.Key.Contains("late", StringComparison.Ordinal)).ShouldBe(original, "the old version gives the old numbers, to the last decimal");
        await ShouldMatchRawEventsAsync(tenant.Id);

        var history = (await (await tenant.Read.GetAsync("/v1/pricing")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["reprices"]!.AsArray();
        history.Select(h => h!["version"]!.GetValue<string>()).ShouldBe(["2026-06-01", "2026-04-15"]);
        history[0]!["reason"]!.GetValue<string>().ShouldBe("July price cut");
        history[0]!["repriced_by"]!.GetValue<string>().ShouldContain(tenant.AdminKey.Id.ToString());

        var audit = await Db.QueryAsync<(string Actor, string Reason, decimal Before, decimal After)>(
            """
            SELECT actor, details->>'reason', (details->'before'->>'cost_usd')::numeric, (details->'after'->>'cost_usd')::numeric
            FROM audit.events WHERE tenant_id = @t AND action = 'pricing.repriced' ORDER BY ts, event_id
            """,
            new { t = tenant.Id });
        audit.Count.ShouldBe(2);
        audit[0].Actor.ShouldContain(tenant.AdminKey.Id.ToString());
        (audit[0].Reason, audit[0].Before, audit[0].After).ShouldBe(("July price cut", repriced["cost_before_usd"]!.GetValue<decimal>(), expectedAfter));
    }

    [Fact]
    public async Task A_reprice_can_be_limited_to_some_models()
    {
        var tenant = await host.CreateTenantAsync();
        (await tenant.Ingest.PostEventsAsync([Event("m-1", May10, new { model = "claude-opus-4-7" }), Event("m-2", May10, new { model = "claude-sonnet-4-7" })])).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await tenant.Admin.PostAsJsonAsync("/v1/admin/pricing/reprice", new { from = "2026-05-10", to = "2026-05-10", version = "2026-03-01", models = new[] { "claude-sonnet-4-7" } }))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
        await host.FoldAsync();
        (await Db.QueryAsync<(string Model, string Version)>("SELECT model, pricing_version FROM usage.usage_daily WHERE tenant_id = @t ORDER BY model", new { t = tenant.Id }))
            .ShouldBe([("claude-opus-4-7", "2026-04-15"), ("claude-sonnet-4-7", "2026-03-01")], "repriced before the fold: the fold adds them at the new price");
        await ShouldMatchRawEventsAsync(tenant.Id);
    }

    [Fact]
    public async Task Reprices_are_bounded_by_retention_and_today_and_stay_within_the_callers_tenant()
    {
        var tenant = await host.CreateTenantAsync();
        var other = await host.CreateTenantAsync();
        await (await tenant.Admin.PostAsJsonAsync("/v1/admin/pricing/reprice", new { from = "2026-02-01", to = "2026-02-02", version = "2026-03-01" }))
            .ShouldBeProblemAsync(HttpStatusCode.BadRequest, "from");
        await (await tenant.Admin.PostAsJsonAsync("/v1/admin/pricing/reprice", new { from = "2026-05-18", to = "2026-05-19", version = "2026-03-01" }))
            .ShouldBeProblemAsync(HttpStatusCode.BadRequest, "to");
        await (await tenant.Admin.PostAsJsonAsync("/v1/admin/pricing/reprice", new { from = "2026-05-12", to = "2026-05-10", version = "2026-03-01" }))
            .ShouldBeProblemAsync(HttpStatusCode.BadRequest, "to");
        await (await tenant.Admin.PostAsJsonAsync("/v1/admin/pricing/reprice", new { from = "2026-05-10", to = "2026-05-10", version = "nope" }))
            .ShouldBeProblemAsync(HttpStatusCode.BadRequest, "version");
        await (await tenant.Admin.PostAsJsonAsync("/v1/admin/pricing/reprice", new { from = "2026-05-10", to = "2026-05-10", version = "2026-03-01", tenant_id = other.Id }))
            .ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        (await tenant.Read.PostAsJsonAsync("/v1/admin/pricing/reprice", new { from = "2026-05-10", to = "2026-05-10", version = "2026-03-01" })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);

        // Another tenant's own version is not usable; a platform admin may reprice any tenant.
        (await other.Admin.PostAsJsonAsync("/v1/admin/pricing/versions", PricingTests.NewVersion("2026-09-01", "mine", ("claude-opus-4-7", 1m, 1m, null)))).StatusCode.ShouldBe(HttpStatusCode.Created);
        await (await tenant.Admin.PostAsJsonAsync("/v1/admin/pricing/reprice", new { from = "2026-05-10", to = "2026-05-10", version = $"{other.Id}/mine" }))
            .ShouldBeProblemAsync(HttpStatusCode.BadRequest, "version");
        (await other.Ingest.PostEventsAsync([Event("o-1", May10, new { model = "claude-opus-4-7" })])).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await tenant.Ingest.PostEventsAsync([Event("o-1", May10, new { model = "claude-opus-4-7" })])).StatusCode.ShouldBe(HttpStatusCode.OK);
        var platform = (await (await host.Platform.PostAsJsonAsync("/v1/admin/pricing/reprice", new { from = "2026-05-10", to = "2026-05-10", version = $"{other.Id}/mine", tenant_id = other.Id }))
            .ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        platform["events"]!.GetValue<long>().ShouldBe(1);
        (await Db.ScalarAsync<string>("SELECT pricing_version FROM usage.events WHERE tenant_id = @t AND request_id = 'o-1'", new { t = tenant.Id })).ShouldBe("2026-04-15", "untouched");
    }

    /// <summary>Every rollup row's cost, version and unpriced count, keyed; ordered, so two states compare as lists.</summary>
    private async Task<List<(string Table, string Key, decimal Cost, string? Version, long Unpriced)>> RollupStateAsync(string tenant)
    {
        await host.FoldAsync();
        return await Db.QueryAsync<(string, string, decimal, string?, long)>(
            """
            SELECT 'hourly', concat_ws('|', hour, model, provider, agent_id, channel), cost_usd, pricing_version, unpriced_requests FROM usage.hourly_rollup WHERE tenant_id = @tenant
            UNION ALL SELECT 'daily', concat_ws('|', day, model, provider, agent_id, channel), cost_usd, pricing_version, unpriced_requests FROM usage.daily_rollup WHERE tenant_id = @tenant
            UNION ALL SELECT 'usage_daily', concat_ws('|', user_id, day, model), cost_usd, pricing_version, unpriced_requests FROM usage.usage_daily WHERE tenant_id = @tenant
            UNION ALL SELECT 'activity', concat_ws('|', day, user_id, session_id, agent_id, channel, model, provider), cost_usd, pricing_version, unpriced_requests FROM usage.activity_daily WHERE tenant_id = @tenant
            ORDER BY 1, 2
            """,
            new { tenant });
    }

    /// <summary>Each rollup's total cost equals the raw events' (the invariant repricing relies on).</summary>
    private async Task ShouldMatchRawEventsAsync(string tenant)
    {
        await host.FoldAsync();
        var totals = (await Db.QueryAsync<(decimal Raw, decimal Hourly, decimal Daily, decimal UsageDaily, decimal Activity)>(
            """
            SELECT (SELECT sum(cost_usd) FROM usage.events WHERE tenant_id = @tenant), (SELECT sum(cost_usd) FROM usage.hourly_rollup WHERE tenant_id = @tenant),
                   (SELECT sum(cost_usd) FROM usage.daily_rollup WHERE tenant_id = @tenant), (SELECT sum(cost_usd) FROM usage.usage_daily WHERE tenant_id = @tenant),
                   (SELECT sum(cost_usd) FROM usage.activity_daily WHERE tenant_id = @tenant)
            """,
            new { tenant })).Single();
        (totals.Hourly, totals.Daily, totals.UsageDaily, totals.Activity).ShouldBe((totals.Raw, totals.Raw, totals.Raw, totals.Raw));
    }
}
