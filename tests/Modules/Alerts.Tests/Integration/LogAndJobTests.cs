using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Ops.Modules.Alerts.Evaluation;
using Ops.Testing;
using Shouldly;
using Xunit;
using static Ops.Testing.UsageEvents;

namespace Ops.Modules.Alerts.Tests.Integration;

/// <summary>The fired log's filters and pages, and the scheduled evaluation (once across instances).</summary>
public sealed class LogAndJobTests(AlertsTestHost host) : IClassFixture<AlertsTestHost>
{
    [Fact]
    public async Task The_log_pages_newest_first_and_filters_by_state_and_rule()
    {
        var tenant = await host.CreateTenantAsync();
        await tenant.Admin.OnlyRuleAsync("errors_critical_24h");
        await tenant.Admin.SetRuleAsync("errors_24h", new { enabled = true, threshold = 0 });
        await tenant.Admin.SetRuleAsync("unpriced_model", new { enabled = true });
        await tenant.Ingest.IngestAsync(Event("x", host.Time.GetUtcNow(), new { model = "gpt-9", status = "error", severity = "critical" }));
        await host.UntilSignalsAsync(tenant.Id, s => s.CriticalErrors24h == 1 && s.UnpricedEvents24h == 1);
        (await tenant.Admin.EvaluateAsync())["fired"]!.AsArray().Count.ShouldBe(3);
        await tenant.Admin.SetRuleAsync("errors_24h", new { enabled = false });
        (await tenant.Admin.EvaluateAsync())["resolved"]!.AsArray().Single()!["key"]!.GetValue<string>().ShouldBe("errors_24h");

        var page = (await (await tenant.Read.GetAsync("/v1/alerts?limit=2")).ShouldHaveStatusAsync(System.Net.HttpStatusCode.OK))!;
        var ids = page["items"]!.AsArray().Select(a => a!["id"]!.GetValue<long>()).ToList();
        ids.Count.ShouldBe(2);
        ids.ShouldBeInOrder(SortDirection.Descending);
        var cursor = page["next_cursor"]!.GetValue<long>();
        var rest = (await (await tenant.Read.GetAsync($"/v1/alerts?limit=2&cursor={cursor}")).ShouldHaveStatusAsync(System.Net.HttpStatusCode.OK))!;
        rest["items"]!.AsArray().Count.ShouldBe(1);
        rest["items"]![0]!["id"]!.GetValue<long>().ShouldBeLessThan(ids[^1]);
        rest["next_cursor"].ShouldBeNull();

        (await tenant.Read.AlertsAsync("?state=firing")).Select(a => a!["key"]!.GetValue<string>()).Order().ShouldBe(["errors_critical_24h", "unpriced_model"]);
        (await tenant.Read.AlertsAsync("?state=resolved")).Single()!["key"]!.GetValue<string>().ShouldBe("errors_24h");
        (await tenant.Read.AlertsAsync("?rule=unpriced_model")).Single()!["message"]!.GetValue<string>().ShouldContain("gpt-9");

        await using var connection = new NpgsqlConnection(host.ConnectionString);
        var audited = await connection.QueryAsync<string>(
            "SELECT action FROM audit.events WHERE tenant_id = @tenant AND action LIKE 'alert.%' ORDER BY event_id", new { tenant = tenant.Id });
        audited.ShouldBe(["alert.fired", "alert.fired", "alert.fired", "alert.resolved"]);
    }

    [Fact]
    public async Task The_job_evaluates_every_ingesting_tenant_once_across_instances()
    {
        var tenant = await host.CreateTenantAsync();
        await tenant.Admin.OnlyRuleAsync("errors_critical_24h");
        await tenant.Ingest.IngestAsync(Event("crit", host.Time.GetUtcNow(), new { status = "error", severity = "critical" }));
        await host.UntilSignalsAsync(tenant.Id, s => s.CriticalErrors24h == 1);
        var evaluator = host.Factory.Services.GetRequiredService<AlertEvaluator>();

        // Another instance holding the job's lock: this one skips the run.
        await using (var other = new NpgsqlConnection(host.ConnectionString))
        {
            await other.OpenAsync();
            await other.ExecuteAsync("SELECT pg_advisory_lock(hashtextextended(@name, 0))", new { name = AlertEvaluator.LockName });
            (await evaluator.EvaluateAllAsync(CancellationToken.None)).ShouldBeNull();
            (await tenant.Read.AlertsAsync()).ShouldBeEmpty();
            await other.ExecuteAsync("SELECT pg_advisory_unlock(hashtextextended(@name, 0))", new { name = AlertEvaluator.LockName });
        }

        (await evaluator.EvaluateAllAsync(CancellationToken.None)).ShouldNotBeNull().ShouldBeGreaterThanOrEqualTo(1);
        (await tenant.Read.AlertsAsync()).Single()!["key"]!.GetValue<string>().ShouldBe("errors_critical_24h");
    }
}
