using Ops.Modules.Usage.Dashboard;
using Ops.Modules.Usage.Reading;
using Shouldly;
using Xunit;

namespace Ops.Modules.Usage.Tests.Unit;

/// <summary>The cards' status rules at their boundaries (docs/api.md, "The four cards").</summary>
public sealed class DashboardStatsTests
{
    private static readonly DateTimeOffset Now = new(2026, 5, 18, 12, 0, 0, TimeSpan.Zero);

    private static CardFigures Figures(
        decimal cost = 0, decimal yesterday = 0, decimal? budget = null, long errors = 0, long critical = 0, double? p95Ms = null,
        double? ttftMs = null, long up = 0, long down = 0, long[]? dau = null) =>
        new(Now, new DateOnly(2026, 5, 18), cost, yesterday, budget, errors, critical, 0, up, down, p95Ms, null, ttftMs, dau ?? [0, 0, 0, 0]);

    private static DashboardStatsResponse Build(CardFigures f) => DashboardStats.Build(f, TenantDashboardSettings.Defaults);

    [Theory]
    [InlineData(7.99, "ok")]
    [InlineData(8, "warning")]
    [InlineData(9.99, "warning")]
    [InlineData(10, "critical")]
    public void Cost_warns_at_80_percent_of_the_daily_budget_and_is_critical_at_100(decimal cost, string status) =>
        Build(Figures(cost: cost, budget: 10m)).CostToday.Status.ToString().ToLowerInvariant().ShouldBe(status);

    [Fact]
    public void Deltas_are_null_when_yesterday_is_zero_and_signed_otherwise()
    {
        DashboardStats.DeltaPct(5m, 0m).ShouldBeNull();
        DashboardStats.DeltaPct(16.86m, 17.38m).ShouldBe(-2.99m);
        DashboardStats.DeltaPct(1247m, 1155m).ShouldBe(7.97m);
        Build(Figures(cost: 3m)).CostToday.DeltaPct.ShouldBeNull();
    }

    [Theory]
    [InlineData(new long[] { 5, 8, 9, 10 }, true)]
    [InlineData(new long[] { 20, 8, 9, 10 }, true)]
    [InlineData(new long[] { 5, 9, 9, 10 }, false)]
    [InlineData(new long[] { 5, 8, 9, 9 }, false)]
    [InlineData(new long[] { 8, 9, 10, 0 }, false)] // today is partial: a low morning count is no fall
    public void Dau_flags_a_fall_two_days_in_a_row(long[] dau, bool fell)
    {
        var card = Build(Figures(dau: dau)).Dau;
        card.FellTwoDays.ShouldBe(fell);
        card.Status.ShouldBe(fell ? CardStatus.Warning : CardStatus.Ok);
    }

    [Theory]
    [InlineData(0, 0, "ok")]
    [InlineData(20, 0, "ok")]
    [InlineData(21, 0, "warning")]
    [InlineData(1, 1, "critical")]
    public void Errors_are_critical_with_any_critical_and_warn_above_the_threshold(long total, long critical, string status) =>
        Build(Figures(errors: total, critical: critical)).Errors24h.Status.ToString().ToLowerInvariant().ShouldBe(status);

    [Theory]
    [InlineData(null, "ok")]
    [InlineData(2400.0, "ok")]
    [InlineData(2401.0, "warning")]
    [InlineData(3000.0, "warning")]
    [InlineData(3001.0, "critical")]
    public void Latency_warns_above_80_percent_of_the_slo_and_is_critical_above_it(double? p95Ms, string status) =>
        Build(Figures(p95Ms: p95Ms)).LatencyP95.Status.ToString().ToLowerInvariant().ShouldBe(status);

    [Theory]
    [InlineData(800.0, "ok")]
    [InlineData(801.0, "warning")]
    [InlineData(2000.0, "warning")]
    [InlineData(2001.0, "critical")]
    public void Ttft_warns_above_the_goal_and_is_critical_above_red(double ms, string status) =>
        Build(Figures(ttftMs: ms)).TtftP95.Status.ToString().ToLowerInvariant().ShouldBe(status);

    [Theory]
    [InlineData(0, 0, "ok")]
    [InlineData(9, 1, "ok")]
    [InlineData(89, 11, "warning")]
    [InlineData(8, 2, "warning")]
    [InlineData(79, 21, "critical")]
    public void Feedback_warns_below_the_goal_and_is_critical_below_red(long up, long down, string status) =>
        Build(Figures(up: up, down: down)).Feedback24h.Status.ToString().ToLowerInvariant().ShouldBe(status);
}
