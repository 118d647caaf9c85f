using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Ops.Modules.Usage.Contracts;
using Ops.Testing;
using Shouldly;
using Xunit;
using static Ops.Modules.Usage.Tests.Integration.EventRequests;
using static Ops.Testing.UsageEvents;

namespace Ops.Modules.Usage.Tests.Integration;

/// <summary>Budgets: CRUD (audited), status at the thresholds, and the contract other modules read.</summary>
public sealed class BudgetTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    // Haiku input costs $0.80 per 1M tokens (seed prices): 987,500 tokens = $0.79, 1M = $0.80, 1.25M = $1.00.
    private const string Haiku = "claude-haiku-4-7";

    [Fact]
    public async Task Budgets_are_set_replaced_listed_and_deleted_with_audit_and_only_by_admins_of_their_tenant()
    {
        var tenant = await host.CreateTenantAsync();
        var other = await host.CreateTenantAsync();

        var set = (await (await tenant.Admin.PutAsJsonAsync("/v1/budgets/agent/support-bot", new { period = "month", limit_usd = 250.5m }))
            .ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        set["scope"]!.GetValue<string>().ShouldBe("agent");
        set["id"]!.GetValue<string>().ShouldBe("support-bot");
        set["period"]!.GetValue<string>().ShouldBe("month");
        set["limit_usd"]!.GetValue<decimal>().ShouldBe(250.5m);
        set["warning_pct"]!.GetValue<decimal>().ShouldBe(80m);
        set["updated_by"]!.GetValue<string>().ShouldContain(tenant.AdminKey.Id.ToString());

        (await tenant.Admin.PutAsJsonAsync("/v1/budgets/agent/support-bot", new { period = "month", limit_usd = 300, warning_pct = 90 })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await tenant.Admin.PutAsJsonAsync("/v1/budgets/agent/support-bot", new { period = "day", limit_usd = 10 })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await tenant.Admin.PutAsJsonAsync($"/v1/budgets/tenant/{tenant.Id}", new { period = "month", limit_usd = 1000 })).StatusCode.ShouldBe(HttpStatusCode.OK);

        var list = (await (await tenant.Read.GetAsync("/v1/budgets")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray();
        list.Select(b => $"{b!["scope"]}:{b["id"]}:{b["period"]}:{b["limit_usd"]}:{b["warning_pct"]}")
            .ShouldBe(["agent:support-bot:day:10:80", "agent:support-bot:month:300:90", $"tenant:{tenant.Id}:month:1000:80"]);
        (await (await other.Read.GetAsync("/v1/budgets")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray().ShouldBeEmpty();

        // Another tenant's admin cannot reach them: its delete finds nothing, and a tenant budget must name its own tenant.
        await (await other.Admin.DeleteAsync("/v1/budgets/agent/support-bot")).ShouldBeProblemAsync(HttpStatusCode.NotFound);
        await (await other.Admin.PutAsJsonAsync($"/v1/budgets/tenant/{tenant.Id}", new { period = "day", limit_usd = 1 })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "id");

        (await tenant.Admin.DeleteAsync("/v1/budgets/agent/support-bot?period=day")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        await (await tenant.Admin.DeleteAsync("/v1/budgets/agent/support-bot?period=day")).ShouldBeProblemAsync(HttpStatusCode.NotFound);
        (await tenant.Admin.DeleteAsync($"/v1/budgets/tenant/{tenant.Id}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await (await tenant.Read.GetAsync("/v1/budgets")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray()
            .Select(b => b!["period"]!.GetValue<string>()).ShouldBe(["month"]);

        var audit = (await (await tenant.Admin.GetAsync("/v1/audit/events?action=budget.*")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray();
        audit.Select(e => e!["action"]!.GetValue<string>()).Order(StringComparer.Ordinal)
            .ShouldBe(["budget.deleted", "budget.deleted", "budget.set", "budget.set", "budget.set", "budget.set"]);
        var replaced = audit.Single(e => e!["action"]!.GetValue<string>() == "budget.set" && e["before"] is not null)!;
        replaced["target"]!.GetValue<string>().ShouldBe("budget:agent:support-bot:month");
        replaced["before"]!["limit_usd"]!.GetValue<decimal>().ShouldBe(250.5m);
        replaced["after"]!["limit_usd"]!.GetValue<decimal>().ShouldBe(300m);
    }

    [Fact]
    public async Task Bad_budgets_are_problems_naming_the_field_and_read_keys_cannot_change_them()
    {
        var tenant = await host.CreateTenantAsync();
        await (await tenant.Admin.PutAsJsonAsync("/v1/budgets/team/x", new { period = "day", limit_usd = 1 })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "scope");
        await (await tenant.Admin.PutAsJsonAsync("/v1/budgets/agent/x", new { period = "week", limit_usd = 1 })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "period");
        await (await tenant.Admin.PutAsJsonAsync("/v1/budgets/agent/x", new { period = "day" })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "limit_usd");
        await (await tenant.Admin.PutAsJsonAsync("/v1/budgets/agent/x", new { period = "day", limit_usd = 0 })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "limit_usd");
        await (await tenant.Admin.PutAsJsonAsync("/v1/budgets/agent/x", new { period = "day", limit_usd = 1.0000001m })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "limit_usd");
        await (await tenant.Admin.PutAsJsonAsync("/v1/budgets/agent/x", new { period = "day", limit_usd = 1, warning_pct = 101 })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "warning_pct");
        await (await tenant.Admin.DeleteAsync("/v1/budgets/agent/x?period=year")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "period");
        (await tenant.Read.PutAsJsonAsync("/v1/budgets/agent/x", new { period = "day", limit_usd = 1 })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await tenant.Read.DeleteAsync("/v1/budgets/agent/x")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await tenant.Ingest.GetAsync("/v1/budgets")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await tenant.Ingest.GetAsync("/v1/budgets/status")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Status_is_ok_below_the_warning_threshold_warning_at_it_exceeded_at_the_limit_and_no_limit_without_one()
    {
        var tenant = await host.CreateTenantAsync();
        var other = await host.CreateTenantAsync();
        var now = OpsTestHost.Epoch; // 2026-05-18 12:00 UTC
        var yesterday = now.AddDays(-1);
        (await tenant.Ingest.PostEventsAsync([
            Event("b-79", now.AddHours(-1), new { model = Haiku, tokens_in = 987_500, tokens_out = 0, user_id = "u79", agent_id = "bot-a" }),
            Event("b-80", now.AddHours(-1), new { model = Haiku, tokens_in = 1_000_000, tokens_out = 0, user_id = "u80", agent_id = "bot-a" }),
            Event("b-100", now.AddHours(-2), new { model = Haiku, tokens_in = 1_250_000, tokens_out = 0, user_id = "u100", agent_id = "bot-b" }),
            // Yesterday counts in the month, not in the day.
            Event("b-old", yesterday, new { model = Haiku, tokens_in = 1_250_000, tokens_out = 0, user_id = "u79", agent_id = "bot-b" }),
        ])).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await other.Ingest.PostEventsAsync([Event("b-x", now.AddHours(-1), new { model = Haiku, tokens_in = 5_000_000, tokens_out = 0, user_id = "u79", agent_id = "bot-a" })])).StatusCode.ShouldBe(HttpStatusCode.OK);
        await host.FoldAsync();

        foreach (var user in new[] { "u79", "u80", "u100" })
        {
            (await tenant.Admin.PutAsJsonAsync($"/v1/budgets/user/{user}", new { period = "day", limit_usd = 1 })).StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        (await tenant.Admin.PutAsJsonAsync("/v1/budgets/agent/bot-b", new { period = "month", limit_usd = 4, warning_pct = 50 })).StatusCode.ShouldBe(HttpStatusCode.OK);

        var items = (await (await tenant.Read.GetAsync("/v1/budgets/status")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray();
        string Line(JsonNode? i) => $"{i!["scope"]}:{i["id"]}:{i["period"]}:{i["period_start"]}..{i["period_end"]}:{i["limit_usd"]?.ToJsonString() ?? "null"}:"
                                     + $"{i["current_cost_usd"]}:{i["percent"]?.ToJsonString() ?? "null"}:{i["status"]}";
        items.Select(Line).ShouldBe([
            $"tenant:{tenant.Id}:month:2026-05-01..2026-06-01:null:3.59:null:no_limit",
            "agent:bot-a:month:2026-05-01..2026-06-01:null:1.59:null:no_limit",
            "agent:bot-b:month:2026-05-01..2026-06-01:4:2:50:warning",
            "user:u100:day:2026-05-18..2026-05-19:1:1:100:exceeded",
            "user:u79:day:2026-05-18..2026-05-19:1:0.79:79:ok",
            "user:u80:day:2026-05-18..2026-05-19:1:0.8:80:warning",
        ]);

        // The contract: the same statuses, budgeted entities only.
        var budgets = host.Factory.Services.GetRequiredService<IUsageBudgets>();
        var statuses = await budgets.GetStatusAsync(tenant.Id, CancellationToken.None);
        statuses.Select(s => (s.Scope, s.Id, s.State, s.Percent)).ShouldBe([
            (BudgetScope.Agent, "bot-b", BudgetState.Warning, 50m),
            (BudgetScope.User, "u100", BudgetState.Exceeded, 100m),
            (BudgetScope.User, "u79", BudgetState.Ok, 79m),
            (BudgetScope.User, "u80", BudgetState.Warning, 80m),
        ]);
        statuses[0].ShouldBe(new BudgetStatus(BudgetScope.Agent, "bot-b", BudgetPeriod.Month, new DateOnly(2026, 5, 1), new DateOnly(2026, 6, 1), 4m, 50m, 2m, 50m, BudgetState.Warning));
        (await budgets.GetStatusAsync(other.Id, CancellationToken.None)).ShouldBeEmpty();

        // The other tenant sees only itself: its own no-limit tenant and agent, none of these budgets.
        var others = (await (await other.Read.GetAsync("/v1/budgets/status")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray();
        others.Select(Line).ShouldBe([
            $"tenant:{other.Id}:month:2026-05-01..2026-06-01:null:4:null:no_limit",
            "agent:bot-a:month:2026-05-01..2026-06-01:null:4:null:no_limit",
        ]);
    }
}
