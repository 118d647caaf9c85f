using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Ops.Testing;
using Shouldly;
using Xunit;
using static Ops.Modules.Usage.Tests.Integration.EventRequests;
using static Ops.Testing.UsageEvents;

namespace Ops.Modules.Usage.Tests.Integration;

/// <summary>GET /v1/dashboard/stats on <see cref="CardsData"/>, and the per-tenant settings behind its statuses.</summary>
public sealed class DashboardTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    [Fact]
    public async Task The_cards_show_todays_figures_against_yesterday_the_budget_and_the_thresholds()
    {
        var tenant = await host.CreateTenantAsync();
        await CardsData.LoadAsync(tenant);
        await CardsData.SetMonthBudgetAsync(tenant, 310m); // May: $10 a day
        (await tenant.Admin.PutAsJsonAsync("/v1/settings/dashboard", new { currency = "BRL", rate = 5 })).StatusCode.ShouldBe(HttpStatusCode.OK);
        await host.FoldAsync();

        var stats = (await (await tenant.Read.GetAsync("/v1/dashboard/stats")).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        stats["day"]!.GetValue<string>().ShouldBe("2026-05-18");
        stats["as_of"]!.GetValue<DateTimeOffset>().ShouldBe(OpsTestHost.Epoch);

        var dau = stats["dau"]!;
        (dau["today"]!.GetValue<long>(), dau["yesterday"]!.GetValue<long>(), dau["delta_pct"]!.GetValue<decimal>(), dau["fell_two_days"]!.GetValue<bool>(), S(dau["status"]))
            .ShouldBe((3L, 3L, 0m, false, "ok"));

        var cost = stats["cost_today"]!;
        (cost["usd"]!.GetValue<decimal>(), cost["yesterday_usd"]!.GetValue<decimal>(), cost["delta_pct"]!.GetValue<decimal>(), cost["daily_budget_usd"]!.GetValue<decimal>())
            .ShouldBe((9m, 9m, 0m, 10m));
        (cost["budget_used_pct"]!.GetValue<decimal>(), cost["cost_per_active_user_usd"]!.GetValue<decimal>(), S(cost["status"])).ShouldBe((90m, 3m, "warning"));
        (S(cost["currency"]), cost["rate"]!.GetValue<decimal>(), cost["amount"]!.GetValue<decimal>(), cost["yesterday_amount"]!.GetValue<decimal>(),
            cost["daily_budget_amount"]!.GetValue<decimal>(), cost["cost_per_active_user_amount"]!.GetValue<decimal>()).ShouldBe(("BRL", 5m, 45m, 45m, 50m, 15m));

        var errors = stats["errors_24h"]!;
        (errors["total"]!.GetValue<long>(), errors["critical"]!.GetValue<long>(), errors["threshold"]!.GetValue<int>(), S(errors["status"])).ShouldBe((2L, 1L, 20, "critical"));

        var latency = stats["latency_p95"]!;
        latency["today_s"]!.GetValue<double>().ShouldBe(2.9, 0.029); // 1000, 2000, 3000 ms today → p95 2900 ms (sketch within 1 %)
        latency["yesterday_s"].ShouldBeNull();
        latency["change_s"].ShouldBeNull();
        (latency["slo_s"]!.GetValue<decimal>(), S(latency["status"])).ShouldBe((3.0m, "warning"), "above 80 % of the SLO");

        var ttft = stats["ttft_p95"]!;
        ttft["today_ms"]!.GetValue<double>().ShouldBe(290, 2.9);
        (ttft["goal_ms"]!.GetValue<int>(), ttft["red_ms"]!.GetValue<int>(), S(ttft["status"])).ShouldBe((800, 2000, "ok"));

        var feedback = stats["feedback_24h"]!;
        (feedback["up"]!.GetValue<long>(), feedback["down"]!.GetValue<long>(), feedback["ratio"]!.GetValue<double>(), S(feedback["status"])).ShouldBe((1L, 1L, 0.5, "critical"));
    }

    [Fact]
    public async Task Without_yesterday_the_deltas_are_null_and_without_data_every_card_is_ok()
    {
        var tenant = await host.CreateTenantAsync();
        var empty = await host.CreateTenantAsync();
        (await tenant.Ingest.PostEventsAsync([Event("only-today", OpsTestHost.Epoch.AddMinutes(-5), new { tokens_in = 1_000_000, tokens_out = 0 })])).StatusCode.ShouldBe(HttpStatusCode.OK);
        await host.FoldAsync();

        var stats = (await (await tenant.Read.GetAsync("/v1/dashboard/stats")).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        stats["dau"]!["delta_pct"].ShouldBeNull();
        stats["cost_today"]!["usd"]!.GetValue<decimal>().ShouldBe(3m);
        stats["cost_today"]!["delta_pct"].ShouldBeNull();
        stats["cost_today"]!["daily_budget_usd"].ShouldBeNull();
        stats["cost_today"]!["budget_used_pct"].ShouldBeNull();

        var none = (await (await empty.Read.GetAsync("/v1/dashboard/stats")).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        foreach (var card in new[] { "dau", "cost_today", "errors_24h", "latency_p95", "ttft_p95", "feedback_24h" })
        {
            S(none[card]!["status"]).ShouldBe("ok", card);
        }

        (none["dau"]!["today"]!.GetValue<long>(), none["cost_today"]!["usd"]!.GetValue<decimal>()).ShouldBe((0L, 0m), "another tenant's event is not counted");
        none["cost_today"]!["cost_per_active_user_usd"].ShouldBeNull();
        none["latency_p95"]!["today_s"].ShouldBeNull();
        none["feedback_24h"]!["ratio"].ShouldBeNull();
        (await tenant.Ingest.GetAsync("/v1/dashboard/stats")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Settings_default_change_per_tenant_with_audit_and_are_validated()
    {
        var tenant = await host.CreateTenantAsync();
        var other = await host.CreateTenantAsync();
        var defaults = (await (await tenant.Read.GetAsync("/v1/settings/dashboard")).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        (defaults["errors_threshold"]!.GetValue<int>(), defaults["latency_slo_s"]!.GetValue<decimal>(), defaults["ttft_goal_ms"]!.GetValue<int>(), defaults["ttft_red_ms"]!.GetValue<int>(),
            defaults["feedback_goal"]!.GetValue<decimal>(), defaults["feedback_red_below"]!.GetValue<decimal>(), S(defaults["currency"]), defaults["rate"]!.GetValue<decimal>())
            .ShouldBe((20, 3.0m, 800, 2000, 0.9m, 0.8m, "USD", 1m));

        var changed = (await (await tenant.Admin.PutAsJsonAsync("/v1/settings/dashboard", new { errors_threshold = 5, latency_slo_s = 2.5m })).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        (changed["errors_threshold"]!.GetValue<int>(), changed["latency_slo_s"]!.GetValue<decimal>(), changed["ttft_goal_ms"]!.GetValue<int>()).ShouldBe((5, 2.5m, 800));
        (await (await tenant.Read.GetAsync("/v1/settings/dashboard")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["errors_threshold"]!.GetValue<int>().ShouldBe(5);
        (await (await other.Read.GetAsync("/v1/settings/dashboard")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["errors_threshold"]!.GetValue<int>().ShouldBe(20);
        (await (await tenant.Read.GetAsync("/v1/dashboard/stats")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["errors_24h"]!["threshold"]!.GetValue<int>().ShouldBe(5);

        var audit = (await (await tenant.Admin.GetAsync("/v1/audit/events?action=dashboard_settings.changed")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray().ShouldHaveSingleItem()!;
        (audit["before"]!["errors_threshold"]!.GetValue<int>(), audit["after"]!["errors_threshold"]!.GetValue<int>()).ShouldBe((20, 5));

        await (await tenant.Admin.PutAsJsonAsync("/v1/settings/dashboard", new { currency = "brl" })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "currency");
        await (await tenant.Admin.PutAsJsonAsync("/v1/settings/dashboard", new { rate = 0 })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "rate");
        await (await tenant.Admin.PutAsJsonAsync("/v1/settings/dashboard", new { ttft_red_ms = 500 })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "ttft_red_ms");
        await (await tenant.Admin.PutAsJsonAsync("/v1/settings/dashboard", new { feedback_goal = 1.5 })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "feedback_goal");
        (await tenant.Read.PutAsJsonAsync("/v1/settings/dashboard", new { errors_threshold = 1 })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    private static string? S(JsonNode? n) => n?.GetValue<string>();
}
