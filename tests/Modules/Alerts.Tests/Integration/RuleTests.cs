using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Ops.Testing;
using Shouldly;
using Xunit;
using static Ops.Modules.Alerts.Tests.Integration.AlertsApi;
using static Ops.Testing.UsageEvents;

namespace Ops.Modules.Alerts.Tests.Integration;

/// <summary>
/// Each rule on real usage ingested through POST /v1/usage/events: silent at its threshold, firing one step past it,
/// resolving when the threshold is moved back to the value. A Sonnet event with 1M input tokens costs exactly $3.
/// </summary>
public sealed class RuleTests(AlertsTestHost host) : IClassFixture<AlertsTestHost>
{
    private DateTimeOffset Now => host.Time.GetUtcNow();

    [Fact]
    public async Task Errors_24h_fires_above_its_threshold_and_resolves_at_it()
    {
        var tenant = await host.CreateTenantAsync();
        await tenant.Admin.OnlyRuleAsync("errors_24h", new { enabled = true, threshold = 3 });
        await tenant.Ingest.IngestAsync(
            Event("e1", Now.AddMinutes(-5), new { status = "error" }),
            Event("e2", Now.AddMinutes(-4), new { status = "error" }),
            Event("e3", Now.AddMinutes(-3), new { status = "error", severity = "warning" }),
            Event("ok", Now.AddMinutes(-3)));
        await host.UntilSignalsAsync(tenant.Id, s => s.Errors24h == 3);

        await ExpectBoundaryAsync(tenant, "errors_24h", value: 3m, below: new { enabled = true, threshold = 2 }, at: new { enabled = true, threshold = 3 });
    }

    [Fact]
    public async Task Critical_errors_fire_on_the_first_one_by_default()
    {
        var tenant = await host.CreateTenantAsync();
        await tenant.Admin.OnlyRuleAsync("errors_critical_24h", new { enabled = true, threshold = 1 });
        await tenant.Ingest.IngestAsync(Event("c1", Now.AddMinutes(-5), new { status = "error", severity = "critical" }));
        await host.UntilSignalsAsync(tenant.Id, s => s.CriticalErrors24h == 1);

        await ExpectBoundaryAsync(tenant, "errors_critical_24h", value: 1m, below: new { enabled = true, threshold = 0 }, at: new { enabled = true, threshold = 1 });
    }

    [Fact]
    public async Task Cost_over_budget_uses_the_threshold_without_a_budget_and_the_daily_budget_with_one()
    {
        var tenant = await host.CreateTenantAsync();
        await tenant.Admin.OnlyRuleAsync("cost_over_budget", new { enabled = true, threshold = 6 });
        await tenant.Ingest.IngestAsync(Priced("p1", Now.AddMinutes(-5)), Priced("p2", Now.AddMinutes(-4)));
        await host.UntilSignalsAsync(tenant.Id, s => s.CostTodayUsd == 6m);

        await ExpectBoundaryAsync(tenant, "cost_over_budget", value: 6m, below: new { enabled = true, threshold = 5.99m }, at: new { enabled = true, threshold = 6 });

        // With a day budget, the budget is the line (the rule's threshold of 6 would not fire).
        (await tenant.Admin.PutAsJsonAsync($"/v1/budgets/tenant/{tenant.Id}", new { period = "day", limit_usd = 5 })).StatusCode.ShouldBe(HttpStatusCode.OK);
        var fired = (await tenant.Admin.EvaluateAsync())["fired"]!.AsArray().Single()!;
        fired["key"]!.GetValue<string>().ShouldBe("cost_over_budget");
        fired["threshold"]!.GetValue<decimal>().ShouldBe(5m);
        fired["value"]!.GetValue<decimal>().ShouldBe(6m);
        (await tenant.Admin.PutAsJsonAsync($"/v1/budgets/tenant/{tenant.Id}", new { period = "day", limit_usd = 6 })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await tenant.Admin.EvaluateAsync())["resolved"]!.AsArray().Single()!["key"]!.GetValue<string>().ShouldBe("cost_over_budget");
    }

    [Fact]
    public async Task Latency_and_ttft_p95_fire_over_their_slo_within_their_window()
    {
        var tenant = await host.CreateTenantAsync();
        await tenant.Admin.OnlyRuleAsync("p95_latency");
        await tenant.Admin.SetRuleAsync("ttft_p95", new { enabled = true });
        // 20 slow calls now, and one far slower call 20 minutes ago: outside the 15-minute window, so it does not count.
        await tenant.Ingest.IngestAsync(
            [.. Enumerable.Range(0, 20).Select(i => Event($"l{i}", Now, new { latency_ms = 4_000, ttft_ms = 2_500 })),
             Event("before-window", Now.AddMinutes(-20), new { latency_ms = 60_000, ttft_ms = 60_000 })]);
        await host.UntilSignalsAsync(tenant.Id, s => s.LatencySamples == 20);

        var fired = (await tenant.Admin.EvaluateAsync())["fired"]!.AsArray();
        fired.Select(a => a!["key"]!.GetValue<string>()).Order().ShouldBe(["p95_latency", "ttft_p95"]);
        fired.Single(a => a!["key"]!.GetValue<string>() == "p95_latency")!["value"]!.GetValue<decimal>().ShouldBe(4_000m, 40m);
        fired.Single(a => a!["key"]!.GetValue<string>() == "ttft_p95")!["threshold"]!.GetValue<decimal>().ShouldBe(2_000m);

        // Thresholds above the measured p95 (4000 ms, 2500 ms) resolve both.
        await tenant.Admin.SetRuleAsync("p95_latency", new { enabled = true, threshold = 4_100 });
        await tenant.Admin.SetRuleAsync("ttft_p95", new { enabled = true, threshold = 2_600 });
        (await tenant.Admin.EvaluateAsync())["resolved"]!.AsArray().Count.ShouldBe(2);
    }

    [Fact]
    public async Task Feedback_ratio_needs_min_ratings_and_fires_below_its_ratio()
    {
        var tenant = await host.CreateTenantAsync();
        await tenant.Admin.OnlyRuleAsync("feedback_ratio", new { enabled = true, threshold = 0.75m, min_ratings = 4 });
        await tenant.Ingest.IngestAsync(
            Event("f1", Now.AddMinutes(-5), new { feedback = "up" }),
            Event("f2", Now.AddMinutes(-5), new { feedback = "up" }),
            Event("f3", Now.AddMinutes(-5), new { feedback = "up" }),
            Event("f4", Now.AddMinutes(-5), new { feedback = "down" }));
        await host.UntilSignalsAsync(tenant.Id, s => s.FeedbackUp24h + s.FeedbackDown24h == 4);

        // 3 of 4 = 0.75: at the threshold, silent; fires once the threshold is above it.
        await ExpectBoundaryAsync(tenant, "feedback_ratio", value: 0.75m, below: new { enabled = true, threshold = 0.76m }, at: new { enabled = true, threshold = 0.75m });

        await tenant.Admin.SetRuleAsync("feedback_ratio", new { enabled = true, threshold = 0.8m, min_ratings = 5 });
        (await tenant.Admin.EvaluateAsync())["fired"]!.AsArray().ShouldBeEmpty("4 ratings are fewer than min_ratings");
    }

    [Fact]
    public async Task Dau_drop_fires_when_daily_users_fell_two_complete_days_in_a_row()
    {
        var tenant = await host.CreateTenantAsync();
        await tenant.Admin.OnlyRuleAsync("dau_drop");
        var day = Now.Date;
        DateTimeOffset At(int daysAgo) => new DateTimeOffset(day, TimeSpan.Zero).AddDays(-daysAgo).AddHours(10);
        await tenant.Ingest.IngestAsync(
            Event("d3a", At(3), new { user_id = "a" }), Event("d3b", At(3), new { user_id = "b" }), Event("d3c", At(3), new { user_id = "c" }), Event("d3d", At(3), new { user_id = "d" }),
            Event("d2a", At(2), new { user_id = "a" }), Event("d2b", At(2), new { user_id = "b" }),
            Event("d1a", At(1), new { user_id = "a" }));
        await host.UntilSignalsAsync(tenant.Id, s => s.DauByDay.SequenceEqual([0L, 1L, 2L, 4L]));

        // 4 → 2 → 1: two falls of 50 % each.
        await ExpectBoundaryAsync(tenant, "dau_drop", value: 50m, below: new { enabled = true, threshold = 49.99m }, at: new { enabled = true, threshold = 50 });
    }

    [Fact]
    public async Task Unpriced_model_fires_on_events_without_a_price()
    {
        var tenant = await host.CreateTenantAsync();
        await tenant.Admin.OnlyRuleAsync("unpriced_model", new { enabled = true, threshold = 2 });
        await tenant.Ingest.IngestAsync(Event("u1", Now.AddMinutes(-5), new { model = "gpt-9" }), Event("u2", Now.AddMinutes(-4), new { model = "gpt-9" }), Event("u3", Now.AddMinutes(-4)));
        await host.UntilSignalsAsync(tenant.Id, s => s.UnpricedEvents24h == 2);

        var alert = await ExpectBoundaryAsync(tenant, "unpriced_model", value: 2m, below: new { enabled = true, threshold = 1 }, at: new { enabled = true, threshold = 2 });
        alert["message"]!.GetValue<string>().ShouldContain("gpt-9");
    }

    [Fact]
    public async Task Budget_warning_and_exceeded_fire_per_entity_and_notify_once_per_period()
    {
        var tenant = await host.CreateTenantAsync();
        await using var receiver = new WebhookReceiver();
        await tenant.Admin.AddChannelAsync("hook", receiver.Url("budget"));
        await tenant.Admin.OnlyRuleAsync("budget_warning");
        await tenant.Admin.SetRuleAsync("budget_exceeded", new { enabled = true });
        (await tenant.Admin.PutAsJsonAsync("/v1/budgets/agent/support-bot", new { period = "day", limit_usd = 10 })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await tenant.Admin.PutAsJsonAsync("/v1/budgets/agent/sales-bot", new { period = "day", limit_usd = 100 })).StatusCode.ShouldBe(HttpStatusCode.OK);

        // $6 of $10: 60 %, below the 80 % warning.
        await tenant.Ingest.IngestAsync(Priced("b1", Now.AddMinutes(-5), "support-bot"), Priced("b2", Now.AddMinutes(-5), "support-bot"), Priced("s1", Now.AddMinutes(-5), "sales-bot"));
        await host.UntilSignalsAsync(tenant.Id, s => s.CostTodayUsd == 9m);
        (await tenant.Admin.EvaluateAsync())["fired"]!.AsArray().ShouldBeEmpty();

        // $9 of $10: 90 % → warning for support-bot only.
        await tenant.Ingest.IngestAsync(Priced("b3", Now.AddMinutes(-4), "support-bot"));
        await host.UntilSignalsAsync(tenant.Id, s => s.CostTodayUsd == 12m);
        var fired = (await tenant.Admin.EvaluateAsync())["fired"]!.AsArray();
        fired.Select(a => a!["key"]!.GetValue<string>()).ShouldBe(["budget_warning:agent:support-bot"]);
        fired[0]!["entity_type"]!.GetValue<string>().ShouldBe("agent");
        fired[0]!["entity_id"]!.GetValue<string>().ShouldBe("support-bot");
        fired[0]!["threshold"]!.GetValue<decimal>().ShouldBe(80m);

        // $12 of $10 → exceeded; the warning keeps firing without notifying again (once per period), even after the dedup window.
        await tenant.Ingest.IngestAsync(Priced("b4", Now.AddMinutes(-3), "support-bot"));
        await host.UntilSignalsAsync(tenant.Id, s => s.CostTodayUsd == 15m);
        host.Time.Advance(TimeSpan.FromMinutes(61));
        (await tenant.Admin.EvaluateAsync())["fired"]!.AsArray().Select(a => a!["key"]!.GetValue<string>()).ShouldBe(["budget_exceeded:agent:support-bot"]);
        host.Time.Advance(TimeSpan.FromMinutes(61));
        (await tenant.Admin.EvaluateAsync())["fired"]!.AsArray().ShouldBeEmpty();
        await EventuallyAsync(() => Task.FromResult(receiver.Received("budget").Count >= 2), TimeSpan.FromSeconds(10), "both notifications arrive");
        await Task.Delay(300);
        receiver.Received("budget").Select(r => r.Json["alert"]!["key"]!.GetValue<string>())
            .ShouldBe(["budget_warning:agent:support-bot", "budget_exceeded:agent:support-bot"], ignoreOrder: true);

        // The next day is a new period: both resolve (today's spend is 0), and a new warning notifies again.
        host.Time.SetUtcNow(new DateTimeOffset(Now.Date.AddDays(1), TimeSpan.Zero).AddHours(1));
        var resolved = (await tenant.Admin.EvaluateAsync())["resolved"]!.AsArray();
        resolved.Select(a => a!["key"]!.GetValue<string>()).Order().ShouldBe(["budget_exceeded:agent:support-bot", "budget_warning:agent:support-bot"]);
        await tenant.Ingest.IngestAsync(Priced("n1", Now.AddMinutes(-5), "support-bot"), Priced("n2", Now.AddMinutes(-5), "support-bot"), Priced("n3", Now.AddMinutes(-5), "support-bot"));
        await host.UntilSignalsAsync(tenant.Id, s => s.CostTodayUsd == 9m);
        (await tenant.Admin.EvaluateAsync())["fired"]!.AsArray().Select(a => a!["key"]!.GetValue<string>()).ShouldBe(["budget_warning:agent:support-bot"]);
        await EventuallyAsync(() => Task.FromResult(receiver.Received("budget").Count(r => r.Json["event"]!.GetValue<string>() == "fired") == 3), TimeSpan.FromSeconds(10), "the new period's warning is notified");
    }

    [Fact]
    public async Task A_disabled_rule_does_not_fire_and_tenants_never_see_each_others_alerts()
    {
        var tenant = await host.CreateTenantAsync();
        var other = await host.CreateTenantAsync();
        await tenant.Admin.OnlyRuleAsync("errors_critical_24h", new { enabled = false });
        await other.Admin.OnlyRuleAsync("errors_critical_24h");
        await tenant.Ingest.IngestAsync(Event("x1", Now.AddMinutes(-1), new { status = "error", severity = "critical" }));
        await other.Ingest.IngestAsync(Event("x1", Now.AddMinutes(-1), new { status = "error", severity = "critical" }));
        await host.UntilSignalsAsync(tenant.Id, s => s.CriticalErrors24h == 1);
        await host.UntilSignalsAsync(other.Id, s => s.CriticalErrors24h == 1);

        (await tenant.Admin.EvaluateAsync())["fired"]!.AsArray().ShouldBeEmpty();
        (await other.Admin.EvaluateAsync())["fired"]!.AsArray().Count.ShouldBe(1);
        (await tenant.Read.AlertsAsync()).ShouldBeEmpty();
        (await other.Read.AlertsAsync()).Count.ShouldBe(1);
        var id = (await other.Read.AlertsAsync())[0]!["id"]!.GetValue<long>();
        (await tenant.Read.AlertsAsync($"?cursor={id + 1}")).ShouldBeEmpty();
    }

    /// <summary>At <paramref name="at"/> (threshold = value) nothing fires; at <paramref name="below"/> it fires with the value; back at <paramref name="at"/> it resolves.</summary>
    private static async Task<JsonNode> ExpectBoundaryAsync(TestTenant tenant, string rule, decimal value, object below, object at)
    {
        await tenant.Admin.SetRuleAsync(rule, at);
        (await tenant.Admin.EvaluateAsync())["fired"]!.AsArray().ShouldBeEmpty($"{rule} must not fire at its threshold");

        await tenant.Admin.SetRuleAsync(rule, below);
        var fired = (await tenant.Admin.EvaluateAsync())["fired"]!.AsArray();
        fired.Count.ShouldBe(1, $"{rule} fires past its threshold");
        var alert = fired[0]!;
        alert["key"]!.GetValue<string>().ShouldBe(rule);
        alert["state"]!.GetValue<string>().ShouldBe("firing");
        alert["value"]!.GetValue<decimal>().ShouldBe(value);
        alert["entity_type"].ShouldBeNull();

        await tenant.Admin.SetRuleAsync(rule, at);
        var resolved = (await tenant.Admin.EvaluateAsync())["resolved"]!.AsArray();
        resolved.Single()!["key"]!.GetValue<string>().ShouldBe(rule);
        resolved[0]!["resolved_at"].ShouldNotBeNull();
        var log = await tenant.Read.AlertsAsync($"?rule={rule}");
        log.Single()!["state"]!.GetValue<string>().ShouldBe("resolved");
        return alert;
    }

    private static JsonObject Priced(string id, DateTimeOffset at, string? agent = null) =>
        Event(id, at, agent is null ? new { tokens_in = 1_000_000, tokens_out = 0 } : new { tokens_in = 1_000_000, tokens_out = 0, agent_id = agent });
}
