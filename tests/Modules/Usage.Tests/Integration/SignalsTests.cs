using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Ops.Modules.Usage.Contracts;
using Ops.Testing;
using Shouldly;
using Xunit;

namespace Ops.Modules.Usage.Tests.Integration;

/// <summary>IUsageSignals, what the Alerts rules read, on the known data set.</summary>
public sealed class SignalsTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    [Fact]
    public async Task Signals_count_today_and_the_hour_aligned_last_24_hours_from_the_rollups()
    {
        var tenant = await host.CreateTenantAsync();
        var other = await host.CreateTenantAsync();
        await CardsData.LoadAsync(tenant);
        await CardsData.SetMonthBudgetAsync(tenant, 31m); // May: 31 days → $1 a day
        await host.FoldAsync();

        var signals = host.Factory.Services.GetRequiredService<IUsageSignals>();
        var s = await signals.GetAsync(tenant.Id, TimeSpan.FromHours(2), CancellationToken.None);

        s.Day.ShouldBe(new DateOnly(2026, 5, 18));
        s.CostTodayUsd.ShouldBe(CardsData.CostToday);
        s.DailyBudgetUsd.ShouldBe(1m);
        (s.Errors24h, s.CriticalErrors24h).ShouldBe((2L, 1L), "yesterday 12:30 is in the hour the 24-hour window left");
        (s.FeedbackUp24h, s.FeedbackDown24h, s.UnpricedEvents24h).ShouldBe((1L, 1L, 1L));
        s.DauByDay.ShouldBe([3L, 3L, 3L, 1L]);

        // The 2-hour window is (10:00, 12:00]: latencies 1000 and 2000 ms → percentile_cont p95 = 1950, exactly.
        (s.LatencySamples, s.TtftSamples).ShouldBe((2L, 2L));
        s.LatencyP95Ms.ShouldBe(1950);
        s.TtftP95Ms.ShouldBe(290);

        // The window is exact, not whole hours: the last 45 minutes hold only the 11:30 call (2000 ms).
        var quarter = await signals.GetAsync(tenant.Id, TimeSpan.FromMinutes(45), CancellationToken.None);
        (quarter.LatencySamples, quarter.LatencyP95Ms).ShouldBe((1L, 2000d));

        var wide = await signals.GetAsync(tenant.Id, TimeSpan.FromHours(24), CancellationToken.None);
        wide.LatencySamples.ShouldBe(3L);
        wide.LatencyP95Ms.ShouldBe(2900); // 1000, 2000, 3000 → 2000 + 0.9 × 1000

        var none = await signals.GetAsync(other.Id, TimeSpan.FromHours(2), CancellationToken.None);
        none.ShouldSatisfyAllConditions(
            () => none.CostTodayUsd.ShouldBe(0m),
            () => none.DailyBudgetUsd.ShouldBeNull(),
            () => none.LatencyP95Ms.ShouldBeNull(),
            () => none.TtftP95Ms.ShouldBeNull(),
            () => none.LatencySamples.ShouldBe(0),
            () => none.DauByDay.ShouldBe([0L, 0L, 0L, 0L]),
            () => none.Errors24h.ShouldBe(0));
    }

    [Fact]
    public async Task A_day_budget_wins_over_the_month_budget()
    {
        var tenant = await host.CreateTenantAsync();
        await CardsData.SetMonthBudgetAsync(tenant, 31m);
        (await tenant.Admin.PutAsJsonAsync($"/v1/budgets/tenant/{tenant.Id}", new { period = "day", limit_usd = 5 })).StatusCode.ShouldBe(System.Net.HttpStatusCode.OK);
        var s = await host.Factory.Services.GetRequiredService<IUsageSignals>().GetAsync(tenant.Id, TimeSpan.FromHours(1), CancellationToken.None);
        s.DailyBudgetUsd.ShouldBe(5m);
    }
}
