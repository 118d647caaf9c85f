using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Npgsql;
using Ops.Testing;
using Shouldly;
using Xunit;

namespace Ops.Modules.Alerts.Tests.Integration;

/// <summary>The Alerts routes: shapes, validation, roles, audit, tenant isolation.</summary>
public sealed class AlertsApiTests(AlertsTestHost host) : IClassFixture<AlertsTestHost>
{
    [Fact]
    public async Task Rules_list_the_built_in_defaults_and_a_change_is_validated_audited_and_kept()
    {
        var tenant = await host.CreateTenantAsync();
        var rules = (await (await tenant.Read.GetAsync("/v1/alerts/rules")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray();
        rules.Select(r => r!["key"]!.GetValue<string>()).ShouldBe(
            ["errors_critical_24h", "errors_24h", "cost_over_budget", "p95_latency", "ttft_p95", "budget_warning", "budget_exceeded", "feedback_ratio", "dau_drop", "unpriced_model"]);
        var errors = rules.Single(r => r!["key"]!.GetValue<string>() == "errors_24h")!;
        errors["threshold"]!.GetValue<decimal>().ShouldBe(20m);
        errors["enabled"]!.GetValue<bool>().ShouldBeTrue();
        rules.Single(r => r!["key"]!.GetValue<string>() == "p95_latency")!["window_minutes"]!.GetValue<int>().ShouldBe(15);
        rules.Single(r => r!["key"]!.GetValue<string>() == "feedback_ratio")!["min_ratings"]!.GetValue<int>().ShouldBe(20);
        rules.Single(r => r!["key"]!.GetValue<string>() == "budget_warning")!["threshold"].ShouldBeNull();

        await (await tenant.Admin.PutAsJsonAsync("/v1/alerts/rules/errors_24h", new { enabled = true, threshold = -1 })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "threshold");
        await (await tenant.Admin.PutAsJsonAsync("/v1/alerts/rules/errors_24h", new { threshold = 5 })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "enabled");
        await (await tenant.Admin.PutAsJsonAsync("/v1/alerts/rules/budget_warning", new { enabled = true, threshold = 50 })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "threshold");
        await (await tenant.Admin.PutAsJsonAsync("/v1/alerts/rules/errors_24h", new { enabled = true, window_minutes = 5 })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "window_minutes");
        await (await tenant.Admin.PutAsJsonAsync("/v1/alerts/rules/feedback_ratio", new { enabled = true, threshold = 80 })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "threshold");
        await (await tenant.Admin.PutAsJsonAsync("/v1/alerts/rules/no_such_rule", new { enabled = true })).ShouldBeProblemAsync(HttpStatusCode.NotFound);
        (await tenant.Read.PutAsJsonAsync("/v1/alerts/rules/errors_24h", new { enabled = false })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await tenant.Ingest.GetAsync("/v1/alerts/rules")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);

        var changed = (await (await tenant.Admin.PutAsJsonAsync("/v1/alerts/rules/errors_24h", new { enabled = false, threshold = 50 })).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        changed["enabled"]!.GetValue<bool>().ShouldBeFalse();
        changed["threshold"]!.GetValue<decimal>().ShouldBe(50m);
        var latency = (await (await tenant.Admin.PutAsJsonAsync("/v1/alerts/rules/p95_latency", new { enabled = true, window_minutes = 30 })).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        latency["threshold"]!.GetValue<decimal>().ShouldBe(3000m, "an omitted threshold is kept");
        latency["window_minutes"]!.GetValue<int>().ShouldBe(30);

        var other = await host.CreateTenantAsync();
        var otherRules = (await (await other.Read.GetAsync("/v1/alerts/rules")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray();
        otherRules.Single(r => r!["key"]!.GetValue<string>() == "errors_24h")!["threshold"]!.GetValue<decimal>().ShouldBe(20m, "another tenant keeps the defaults");

        var audit = await AuditAsync(tenant.Id, "alert_rule.changed");
        audit.Count.ShouldBe(2);
        audit[0]["before"]!["threshold"]!.GetValue<decimal>().ShouldBe(20m);
        audit[0]["after"]!["threshold"]!.GetValue<decimal>().ShouldBe(50m);
    }

    [Fact]
    public async Task Snoozes_are_validated_listed_flagged_for_follow_up_noted_and_ended()
    {
        var tenant = await host.CreateTenantAsync();
        await (await tenant.Admin.PostAsJsonAsync("/v1/alerts/errors_24h/snooze", new { hours = 2 })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "reason");
        await (await tenant.Admin.PostAsJsonAsync("/v1/alerts/errors_24h/snooze", new { reason = "deploy" })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "hours");
        await (await tenant.Admin.PostAsJsonAsync("/v1/alerts/nonsense/snooze", new { hours = 2, reason = "x" })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "key");
        await (await tenant.Admin.PostAsJsonAsync("/v1/alerts/errors_24h:agent:a/snooze", new { hours = 2, reason = "x" })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "key");
        await (await tenant.Admin.PostAsJsonAsync("/v1/alerts/errors_24h/snooze", new { until = host.Time.GetUtcNow().AddMinutes(-1), reason = "x" })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "until");
        (await tenant.Read.PostAsJsonAsync("/v1/alerts/errors_24h/snooze", new { hours = 2, reason = "x" })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);

        var snooze = (await (await tenant.Admin.PostAsJsonAsync("/v1/alerts/errors_24h/snooze", new { hours = 24 * 10, reason = "investigating the retry storm" })).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        snooze["until"]!.GetValue<DateTimeOffset>().ShouldBe(host.Time.GetUtcNow().AddDays(10));
        snooze["snoozed_by"]!.GetValue<string>().ShouldStartWith("key:");
        await (await tenant.Admin.PostAsJsonAsync("/v1/alerts/budget_exceeded:agent:support-bot/snooze", new { until = host.Time.GetUtcNow().AddHours(3), reason = "raising the budget" }))
            .ShouldHaveStatusAsync(HttpStatusCode.OK);

        var listed = await SnoozesAsync(tenant.Read);
        listed.Select(s => s!["key"]!.GetValue<string>()).ShouldBe(["budget_exceeded:agent:support-bot", "errors_24h"]);
        listed.ShouldAllBe(s => !s!["needs_follow_up"]!.GetValue<bool>());
        (await SnoozesAsync((await host.CreateTenantAsync()).Read)).ShouldBeEmpty("tenants never see each other's snoozes");

        host.Time.Advance(TimeSpan.FromDays(8));
        listed = await SnoozesAsync(tenant.Read);
        listed.Select(s => s!["key"]!.GetValue<string>()).ShouldBe(["errors_24h"], "the 3-hour snooze expired");
        listed[0]!["needs_follow_up"]!.GetValue<bool>().ShouldBeTrue("older than 7 days without a follow-up note");

        await (await tenant.Admin.PostAsJsonAsync("/v1/alerts/errors_24h/snooze/note", new { note = "" })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "note");
        var noted = (await (await tenant.Admin.PostAsJsonAsync("/v1/alerts/errors_24h/snooze/note", new { note = "root cause: provider 529s; ticket OPS-12" })).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        noted["follow_up_note"]!.GetValue<string>().ShouldBe("root cause: provider 529s; ticket OPS-12");
        noted["needs_follow_up"]!.GetValue<bool>().ShouldBeFalse();

        (await tenant.Admin.DeleteAsync("/v1/alerts/errors_24h/snooze?reason=fixed")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        await (await tenant.Admin.DeleteAsync("/v1/alerts/errors_24h/snooze")).ShouldBeProblemAsync(HttpStatusCode.NotFound);
        (await SnoozesAsync(tenant.Read)).ShouldBeEmpty();

        (await AuditAsync(tenant.Id, "alert.snoozed")).Count.ShouldBe(2);
        (await AuditAsync(tenant.Id, "alert.snooze_noted")).Count.ShouldBe(1);
        var ended = (await AuditAsync(tenant.Id, "alert.unsnoozed")).Single();
        ended["reason"]!.GetValue<string>().ShouldBe("fixed");
    }

    [Fact]
    public async Task Channels_show_their_secret_only_at_creation_and_are_per_tenant()
    {
        var tenant = await host.CreateTenantAsync();
        await (await tenant.Admin.PostAsJsonAsync("/v1/alerts/channels", new { name = "x", kind = "email", url = "https://example.com" })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "kind");
        await (await tenant.Admin.PostAsJsonAsync("/v1/alerts/channels", new { name = "x", kind = "webhook", url = "ftp://example.com" })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "url");
        await (await tenant.Admin.PostAsJsonAsync("/v1/alerts/channels", new { name = "", kind = "webhook", url = "https://example.com" })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "name");
        (await tenant.Read.GetAsync("/v1/alerts/channels")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);

        var created = (await (await tenant.Admin.PostAsJsonAsync("/v1/alerts/channels", new { name = "ops-hook", kind = "webhook", url = "https://hooks.example.com/ops" })).ShouldHaveStatusAsync(HttpStatusCode.Created))!;
        var secret = created["secret"]!.GetValue<string>();
        secret.Length.ShouldBeGreaterThan(40);
        await (await tenant.Admin.PostAsJsonAsync("/v1/alerts/channels", new { name = "slack", kind = "slack", url = "https://hooks.slack.com/services/T000/B000/abcdefSECRETwxyz" })).ShouldHaveStatusAsync(HttpStatusCode.Created);

        var listText = await (await tenant.Admin.GetAsync("/v1/alerts/channels")).Content.ReadAsStringAsync();
        listText.ShouldNotContain(secret);
        listText.ShouldNotContain("SECRET");
        var items = JsonNode.Parse(listText)!["items"]!.AsArray();
        items.Select(c => c!["name"]!.GetValue<string>()).ShouldBe(["ops-hook", "slack"]);
        items[0]!["url"]!.GetValue<string>().ShouldBe("https://hooks.example.com/ops");
        items[0]!["secret"].ShouldBeNull();
        items[1]!["url"]!.GetValue<string>().ShouldBe("https://hooks.slack.com/…wxyz");

        var other = await host.CreateTenantAsync();
        (await (await other.Admin.GetAsync("/v1/alerts/channels")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray().ShouldBeEmpty();
        var id = created["id"]!.GetValue<string>();
        await (await other.Admin.DeleteAsync($"/v1/alerts/channels/{id}")).ShouldBeProblemAsync(HttpStatusCode.NotFound);
        (await tenant.Admin.DeleteAsync($"/v1/alerts/channels/{id}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await (await tenant.Admin.GetAsync("/v1/alerts/channels")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray().Count.ShouldBe(1);

        var audited = await AuditAsync(tenant.Id, "alert_channel.created");
        audited.Count.ShouldBe(2);
        string.Join("\n", audited.Select(a => a.ToJsonString())).ShouldNotContain(secret);
        (await AuditAsync(tenant.Id, "alert_channel.deleted")).Count.ShouldBe(1);
    }

    [Fact]
    public async Task The_breaker_is_off_until_set_validated_and_audited()
    {
        var tenant = await host.CreateTenantAsync();
        var off = (await (await tenant.Read.GetAsync("/v1/alerts/breaker")).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        off["enabled"]!.GetValue<bool>().ShouldBeFalse();

        await (await tenant.Admin.PutAsJsonAsync("/v1/alerts/breaker", new { enabled = true, subject = "model", window_minutes = 20, limit_usd = 50, kill_minutes = 60 })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "subject");
        await (await tenant.Admin.PutAsJsonAsync("/v1/alerts/breaker", new { enabled = true, subject = "user", window_minutes = 0, limit_usd = 50, kill_minutes = 60 })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "window_minutes");
        await (await tenant.Admin.PutAsJsonAsync("/v1/alerts/breaker", new { enabled = true, subject = "user", window_minutes = 20, limit_usd = 0, kill_minutes = 60 })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "limit_usd");
        (await tenant.Read.PutAsJsonAsync("/v1/alerts/breaker", new { enabled = true, subject = "user", window_minutes = 20, limit_usd = 50, kill_minutes = 60 })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);

        await (await tenant.Admin.PutAsJsonAsync("/v1/alerts/breaker", new { enabled = true, subject = "agent", window_minutes = 20, limit_usd = 50.5m, kill_minutes = 60 })).ShouldHaveStatusAsync(HttpStatusCode.OK);
        var on = (await (await tenant.Read.GetAsync("/v1/alerts/breaker")).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        on["enabled"]!.GetValue<bool>().ShouldBeTrue();
        on["subject"]!.GetValue<string>().ShouldBe("agent");
        on["limit_usd"]!.GetValue<decimal>().ShouldBe(50.5m);
        (await (await (await host.CreateTenantAsync()).Read.GetAsync("/v1/alerts/breaker")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["enabled"]!.GetValue<bool>().ShouldBeFalse();
        var audit = (await AuditAsync(tenant.Id, "alert_breaker.changed")).Single();
        audit["before"]!["enabled"]!.GetValue<bool>().ShouldBeFalse();
        audit["after"]!["limit_usd"]!.GetValue<decimal>().ShouldBe(50.5m);
    }

    [Fact]
    public async Task The_alert_log_validates_its_filters_and_evaluate_needs_admin()
    {
        var tenant = await host.CreateTenantAsync();
        await (await tenant.Read.GetAsync("/v1/alerts?state=burning")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "state");
        await (await tenant.Read.GetAsync("/v1/alerts?limit=0")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "limit");
        (await tenant.Read.PostAsync("/v1/alerts/evaluate", null)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        var result = await tenant.Admin.EvaluateAsync();
        result["evaluated_at"]!.GetValue<DateTimeOffset>().ShouldBe(host.Time.GetUtcNow());
        result["fired"]!.AsArray().ShouldBeEmpty("a tenant with no usage has nothing on fire");
        (await tenant.Read.AlertsAsync()).ShouldBeEmpty();
    }

    private static async Task<JsonArray> SnoozesAsync(HttpClient client) =>
        (await (await client.GetAsync("/v1/alerts/snoozes")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray();

    private async Task<List<JsonNode>> AuditAsync(string tenantId, string action)
    {
        await using var connection = new NpgsqlConnection(host.ConnectionString);
        var details = await connection.QueryAsync<string>(
            "SELECT details::text FROM audit.events WHERE tenant_id = @tenantId AND action = @action ORDER BY ts, event_id", new { tenantId, action });
        return details.Select(d => JsonNode.Parse(d)!).ToList();
    }
}
