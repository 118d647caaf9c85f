using System.Net;
using System.Net.Http.Json;
using Ops.Testing;
using Shouldly;
using Xunit;
using static Ops.Modules.Alerts.Tests.Integration.AlertsApi;
using static Ops.Testing.UsageEvents;

namespace Ops.Modules.Alerts.Tests.Integration;

/// <summary>Dedup (state in Postgres: across restarts and instances) and snoozes.</summary>
public sealed class DedupAndSnoozeTests(AlertsTestHost host) : IClassFixture<AlertsTestHost>, IAsyncLifetime
{
    private readonly WebhookReceiver _receiver = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _receiver.DisposeAsync();

    [Fact]
    public async Task A_firing_key_notifies_once_per_dedup_window_across_restarts_and_concurrent_instances()
    {
        var (tenant, path) = await FiringTenantAsync();
        (await tenant.Admin.EvaluateAsync())["fired"]!.AsArray().Count.ShouldBe(1);
        await UntilReceivedAsync(path, 1);

        // A "restart": a fresh Api process (nothing in memory) on the same database, evaluating twice.
        await using (var restarted = host.CreateSecondInstance())
        {
            var admin = host.CreateClient(tenant.AdminKey.Key, restarted);
            (await admin.EvaluateAsync())["fired"]!.AsArray().ShouldBeEmpty("still firing: not a new alert");
            host.Time.Advance(TimeSpan.FromMinutes(30));
            await admin.EvaluateAsync();
        }

        // Two instances evaluating at the same moment.
        await using var second = host.CreateSecondInstance();
        await using var third = host.CreateSecondInstance();
        var clients = new[] { tenant.Admin, host.CreateClient(tenant.AdminKey.Key, second), host.CreateClient(tenant.AdminKey.Key, third) };
        await Task.WhenAll(clients.Select(c => c.EvaluateAsync()));
        await Task.Delay(500);
        _receiver.Received(path).Count.ShouldBe(1, "notified once within the hour");
        (await tenant.Read.AlertsAsync()).Count.ShouldBe(1, "one firing alert, whatever the instances");

        // Past the window, while still firing: one reminder, from whichever instance evaluates first.
        host.Time.Advance(TimeSpan.FromMinutes(31));
        await Task.WhenAll(clients.Select(c => c.EvaluateAsync()));
        await UntilReceivedAsync(path, 2);
        await Task.Delay(500);
        _receiver.Received(path).Count.ShouldBe(2);
    }

    [Fact]
    public async Task A_re_fire_within_the_dedup_window_after_a_resolve_is_logged_but_not_notified()
    {
        var (tenant, path) = await FiringTenantAsync();
        await tenant.Admin.EvaluateAsync();
        await tenant.Admin.SetRuleAsync("errors_critical_24h", new { enabled = true, threshold = 1 });
        await tenant.Admin.EvaluateAsync();
        await UntilReceivedAsync(path, 2); // fired + resolved

        host.Time.Advance(TimeSpan.FromMinutes(10));
        await tenant.Admin.SetRuleAsync("errors_critical_24h", new { enabled = true, threshold = 0 });
        (await tenant.Admin.EvaluateAsync())["fired"]!.AsArray().Count.ShouldBe(1, "the flap is recorded");
        await tenant.Admin.SetRuleAsync("errors_critical_24h", new { enabled = true, threshold = 1 });
        (await tenant.Admin.EvaluateAsync())["resolved"]!.AsArray().Count.ShouldBe(1);
        await Task.Delay(500);
        _receiver.Received(path).Count.ShouldBe(2, "neither the flap's fire nor its resolve notifies");
        var log = await tenant.Read.AlertsAsync();
        log.Count.ShouldBe(2);
        log[0]!["notified_channels"]!.AsArray().ShouldBeEmpty();
    }

    [Fact]
    public async Task A_snoozed_key_is_evaluated_and_logged_but_not_notified_until_the_snooze_expires()
    {
        var (tenant, path) = await FiringTenantAsync();
        (await tenant.Admin.PostAsJsonAsync("/v1/alerts/errors_critical_24h/snooze", new { hours = 2, reason = "provider incident, investigating" }))
            .StatusCode.ShouldBe(HttpStatusCode.OK);

        var fired = (await tenant.Admin.EvaluateAsync())["fired"]!.AsArray().Single()!;
        fired["snoozed"]!.GetValue<bool>().ShouldBeTrue();
        fired["deliveries"]!.AsArray().ShouldBeEmpty();
        host.Time.Advance(TimeSpan.FromMinutes(90));
        await tenant.Admin.EvaluateAsync();
        await Task.Delay(500);
        _receiver.Received(path).ShouldBeEmpty("snoozed");
        var logged = (await tenant.Read.AlertsAsync("?state=firing")).Single()!;
        logged["snoozed"]!.GetValue<bool>().ShouldBeTrue();

        // The snooze ends after 2 h: the still-firing alert notifies at the next evaluation.
        host.Time.Advance(TimeSpan.FromMinutes(31));
        await tenant.Admin.EvaluateAsync();
        await UntilReceivedAsync(path, 1);
        _receiver.Received(path)[0].Json["alert"]!["snoozed"]!.GetValue<bool>().ShouldBeFalse();
    }

    [Fact]
    public async Task Snoozing_a_rule_covers_every_entity_and_an_entity_snooze_covers_only_that_entity()
    {
        var tenant = await host.CreateTenantAsync();
        var path = $"entities-{tenant.Id}";
        await tenant.Admin.AddChannelAsync("hook", _receiver.Url(path));
        await tenant.Admin.OnlyRuleAsync("budget_exceeded");
        foreach (var agent in new[] { "a1", "a2" })
        {
            (await tenant.Admin.PutAsJsonAsync($"/v1/budgets/agent/{agent}", new { period = "day", limit_usd = 1 })).StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        (await tenant.Admin.PostAsJsonAsync("/v1/alerts/budget_exceeded:agent:a1/snooze", new { hours = 1, reason = "known: load test" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        var now = host.Time.GetUtcNow();
        await tenant.Ingest.IngestAsync(
            Event("a1", now, new { agent_id = "a1", tokens_in = 1_000_000, tokens_out = 0 }),
            Event("a2", now, new { agent_id = "a2", tokens_in = 1_000_000, tokens_out = 0 }));
        await host.UntilSignalsAsync(tenant.Id, s => s.CostTodayUsd == 6m);

        var fired = (await tenant.Admin.EvaluateAsync())["fired"]!.AsArray();
        fired.Select(a => (a!["key"]!.GetValue<string>(), a["snoozed"]!.GetValue<bool>())).OrderBy(k => k.Item1)
            .ShouldBe([("budget_exceeded:agent:a1", true), ("budget_exceeded:agent:a2", false)]);
        await UntilReceivedAsync(path, 1);
        _receiver.Received(path)[0].Json["alert"]!["key"]!.GetValue<string>().ShouldBe("budget_exceeded:agent:a2");

        // The rule-wide snooze silences both resolves.
        (await tenant.Admin.PostAsJsonAsync("/v1/alerts/budget_exceeded/snooze", new { hours = 1, reason = "raising every budget" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        foreach (var agent in new[] { "a1", "a2" })
        {
            (await tenant.Admin.PutAsJsonAsync($"/v1/budgets/agent/{agent}", new { period = "day", limit_usd = 100 })).StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        (await tenant.Admin.EvaluateAsync())["resolved"]!.AsArray().Count.ShouldBe(2);
        await Task.Delay(500);
        _receiver.Received(path).Count.ShouldBe(1);
    }

    private async Task UntilReceivedAsync(string path, int count) =>
        await EventuallyAsync(() => Task.FromResult(_receiver.Received(path).Count >= count), TimeSpan.FromSeconds(10), $"{count} notification(s) arrive");

    private async Task<(TestTenant Tenant, string Path)> FiringTenantAsync()
    {
        var tenant = await host.CreateTenantAsync();
        var path = $"hook-{tenant.Id}";
        await tenant.Admin.AddChannelAsync("hook", _receiver.Url(path));
        await tenant.Admin.OnlyRuleAsync("errors_critical_24h");
        await tenant.Ingest.IngestAsync(Event("crit", host.Time.GetUtcNow(), new { status = "error", severity = "critical" }));
        await host.UntilSignalsAsync(tenant.Id, s => s.CriticalErrors24h == 1);
        return (tenant, path);
    }
}
