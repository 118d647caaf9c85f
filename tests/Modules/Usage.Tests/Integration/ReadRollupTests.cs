using System.Net;
using Ops.Modules.Usage.Data.Migrations;
using Ops.Testing;
using Shouldly;
using Xunit;
using static Ops.Modules.Usage.Tests.Integration.EventRequests;
using static Ops.Testing.UsageEvents;

namespace Ops.Modules.Usage.Tests.Integration;

/// <summary>
/// The small rollups of ADR 0027: long-window distinct users and sessions (across a month boundary, multi-day sessions,
/// a backfill that moves a session's first day) match the day-grained definition, and the migration's backfill from the
/// older rollups builds exactly what the fold builds. Now is Monday 2026-05-18 12:00; 30d touches 04-18 … 05-18.
/// </summary>
public sealed class ReadRollupTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    private static readonly string[] ReadRollups = ["hourly_model_rollup", "daily_model_rollup", "daily_counts", "user_months", "session_spans"];

    private UsageDatabase Db => new(host.ConnectionString);

    private static DateTimeOffset At(int month, int day, int hour = 10) => new(2026, month, day, hour, 0, 0, TimeSpan.Zero);

    private async Task<(long Users, long Sessions)> ActiveAsync(TestTenant tenant, string query)
    {
        var summary = (await (await tenant.Read.GetAsync("/v1/usage/metrics" + query)).ShouldHaveStatusAsync(HttpStatusCode.OK))!["summary"]!;
        return (summary["active_users"]!.GetValue<long>(), summary["active_sessions"]!.GetValue<long>());
    }

    private async Task<TestTenant> LoadAsync()
    {
        var tenant = await host.CreateTenantAsync();
        (await tenant.Ingest.PostEventsAsync([
            Event("l1", At(4, 10), new { user_id = "ul", session_id = "L" }),  // L spans 04-10 … 04-25: started before 30d, active in it
            Event("l2", At(4, 25), new { user_id = "ul", session_id = "L" }),
            Event("p1", At(4, 10), new { user_id = "up", session_id = "P" }),  // P and user up: before 30d only
            Event("q1", At(5, 1), new { user_id = "uq", session_id = "Q" }),   // Q spans two days inside 30d: one session
            Event("q2", At(5, 2), new { user_id = "uq", session_id = "Q" }),
            Event("r1", At(5, 10), new { user_id = "ur", session_id = "R" }),
            Event("u1", At(4, 20), new { user_id = "u1" }),                    // u1 in April and May: one user
            Event("u2", At(5, 15), new { user_id = "u1" }),
        ])).StatusCode.ShouldBe(HttpStatusCode.OK);
        await host.FoldAsync();
        // A backfill folded later moves R's first day from 05-10 to 04-05.
        (await tenant.Ingest.PostEventsAsync([Event("r0", At(4, 5), new { user_id = "ur", session_id = "R" })])).StatusCode.ShouldBe(HttpStatusCode.OK);
        await host.FoldAsync();
        return tenant;
    }

    [Fact]
    public async Task Long_windows_count_users_and_sessions_once_across_months_multi_day_sessions_and_backfills()
    {
        var tenant = await LoadAsync();

        (await ActiveAsync(tenant, "?period=30d")).ShouldBe((4L, 3L), "ul, uq, ur, u1; sessions L, Q, R (R's span 04-05 … 05-10 covers the window)");
        (await ActiveAsync(tenant, "?period=30d&provider=anthropic")).ShouldBe((4L, 3L), "the filtered path (activity_daily) agrees");
        (await ActiveAsync(tenant, "?period=custom&from=2026-04-01T00:00:00Z&to=2026-04-10T00:00:00Z")).ShouldBe((1L, 1L), "only r0 on 04-05: R started then, not on 05-10");
        (await ActiveAsync(tenant, "?period=custom&from=2026-05-09T00:00:00Z&to=2026-05-12T00:00:00Z")).ShouldBe((1L, 1L), "ur on 05-10; R began before the window");
        (await ActiveAsync(tenant, "?period=7d")).ShouldBe((1L, 0L), "u1 on 05-15, without a session");

        var dau = await Db.QueryAsync<(DateTime Day, long Users, long Sessions)>(
            "SELECT day, active_users, sessions_started FROM usage.daily_counts WHERE tenant_id = @tenant ORDER BY day", new { tenant = tenant.Id });
        dau.Select(d => (DateOnly.FromDateTime(d.Day).ToString("MM-dd", System.Globalization.CultureInfo.InvariantCulture), d.Users, d.Sessions)).ShouldBe([
            ("04-05", 1L, 1L), ("04-10", 2L, 2L), ("04-20", 1L, 0L), ("04-25", 1L, 0L), ("05-01", 1L, 1L), ("05-02", 1L, 0L), ("05-10", 1L, 0L), ("05-15", 1L, 0L),
        ]);
    }

    [Fact]
    public async Task The_migration_backfill_from_the_older_rollups_builds_what_the_fold_built()
    {
        var tenant = await LoadAsync();
        (await tenant.Ingest.PostEventsAsync([
            Event("e1", OpsTestHost.Epoch.AddHours(-1), new { user_id = "ue", model = "claude-opus-4-7", agent_id = "bot", channel = "web", status = "error", severity = "critical", latency_ms = 900, ttft_ms = 300 }),
            Event("e2", OpsTestHost.Epoch.AddHours(-1), new { user_id = "uf", agent_id = "bot-2", latency_ms = 4_000, ttft_ms = 700 }),
        ])).StatusCode.ShouldBe(HttpStatusCode.OK);
        await host.FoldAsync();
        (await tenant.Ingest.PostFeedbackAsync("e2", "up")).StatusCode.ShouldBe(HttpStatusCode.OK);
        var folded = await SnapshotAsync(tenant.Id);
        folded["hourly_model_rollup"].Count.ShouldBeGreaterThan(0);

        foreach (var table in ReadRollups)
        {
            await Db.ExecuteAsync($"DELETE FROM usage.{table} WHERE tenant_id = @tenant", new { tenant = tenant.Id });
        }

        await Db.ExecuteAsync(M202612012200_CreateReadRollups.Backfill(oneTenant: true), new { tenant = tenant.Id });
        var backfilled = await SnapshotAsync(tenant.Id);
        foreach (var table in ReadRollups)
        {
            backfilled[table].ShouldBe(folded[table], table);
        }
    }

    /// <summary>Every row of the tenant in each read rollup, as JSON text, in key order.</summary>
    private async Task<Dictionary<string, List<string>>> SnapshotAsync(string tenant)
    {
        var rows = new Dictionary<string, List<string>>();
        foreach (var table in ReadRollups)
        {
            rows[table] = await Db.QueryAsync<string>($"SELECT to_jsonb(t)::text FROM usage.{table} t WHERE tenant_id = @tenant ORDER BY 1", new { tenant });
        }

        return rows;
    }
}
