using System.Text.Json.Serialization;
using Ops.Modules.Usage.Reading;

namespace Ops.Modules.Usage.Dashboard;

internal enum CardStatus
{
    Ok,
    Warning,
    Critical,
}

internal sealed record DauCard(long Today, long Yesterday, decimal? DeltaPct, bool FellTwoDays, CardStatus Status);

internal sealed record CostCard(
    decimal Usd,
    decimal YesterdayUsd,
    decimal? DeltaPct,
    decimal? DailyBudgetUsd,
    decimal? BudgetUsedPct,
    decimal? CostPerActiveUserUsd,
    string Currency,
    decimal Rate,
    decimal Amount,
    decimal YesterdayAmount,
    decimal? DailyBudgetAmount,
    decimal? CostPerActiveUserAmount,
    CardStatus Status);

internal sealed record ErrorsCard(long Total, long Critical, int Threshold, CardStatus Status);

internal sealed record LatencyCard(double? TodayS, double? YesterdayS, double? ChangeS, decimal SloS, CardStatus Status);

internal sealed record TtftCard(double? TodayMs, int GoalMs, int RedMs, CardStatus Status);

internal sealed record FeedbackCard(long Up, long Down, double? Ratio, decimal Goal, decimal RedBelow, CardStatus Status);

/// <summary>The body of <c>GET /v1/dashboard/stats</c> and of the stream's <c>stats</c> events.</summary>
internal sealed record DashboardStatsResponse(
    DateTimeOffset AsOf,
    DateOnly Day,
    DauCard Dau,
    CostCard CostToday,
    [property: JsonPropertyName("errors_24h")] ErrorsCard Errors24h,
    LatencyCard LatencyP95,
    TtftCard TtftP95,
    [property: JsonPropertyName("feedback_24h")] FeedbackCard Feedback24h);

/// <summary>
/// The cards from <see cref="CardFigures"/> and the tenant's settings, with the status rules (docs/api.md):
/// DAU warning when it fell two days in a row; cost warning at ≥ 80 % of the daily budget, critical at ≥ 100 %; errors
/// critical when any is critical, warning above the threshold; latency critical above the SLO, warning above 80 % of
/// it; TTFT warning above the goal, critical above red; feedback warning below the goal, critical below red. No data → ok.
/// </summary>
internal static class DashboardStats
{
    public static DashboardStatsResponse Build(CardFigures f, TenantDashboardSettings s)
    {
        var (dauToday, dauYesterday) = (f.Dau[0], f.Dau[1]);
        // Completed days only (as the Alerts dau_drop rule): today is still partial, so it is always "lower" in the morning.
        var fell = dauYesterday < f.Dau[2] && f.Dau[2] < f.Dau[3];
        var dau = new DauCard(dauToday, dauYesterday, DeltaPct(dauToday, dauYesterday), fell, fell ? CardStatus.Warning : CardStatus.Ok);

        var budgetUsed = f.DailyBudgetUsd is { } budget ? Money.Percent(f.CostTodayUsd, budget) : null;
        decimal? perUser = dauToday == 0 ? null : decimal.Round(f.CostTodayUsd / dauToday, 4, MidpointRounding.AwayFromZero);
        var cost = new CostCard(
            f.CostTodayUsd,
            f.CostYesterdayUsd,
            DeltaPct(f.CostTodayUsd, f.CostYesterdayUsd),
            f.DailyBudgetUsd,
            budgetUsed,
            perUser is { } p ? Money.Normalize(p) : null,
            s.Currency,
            s.Rate,
            Amount(f.CostTodayUsd, s.Rate, 2),
            Amount(f.CostYesterdayUsd, s.Rate, 2),
            f.DailyBudgetUsd is { } b ? Amount(b, s.Rate, 2) : null,
            dauToday == 0 ? null : Amount(f.CostTodayUsd / dauToday, s.Rate, 4),
            budgetUsed switch { >= 100 => CardStatus.Critical, >= 80 => CardStatus.Warning, _ => CardStatus.Ok });

        var errors = new ErrorsCard(
            f.Errors24h, f.CriticalErrors24h, s.ErrorsThreshold,
            f.CriticalErrors24h > 0 ? CardStatus.Critical : f.Errors24h > s.ErrorsThreshold ? CardStatus.Warning : CardStatus.Ok);

        var slo = (double)s.LatencySloS;
        var today = Seconds(f.LatencyP95TodayMs);
        var yesterday = Seconds(f.LatencyP95YesterdayMs);
        var latency = new LatencyCard(
            today, yesterday, today is { } t && yesterday is { } y ? Math.Round(t - y, 3) : null, s.LatencySloS,
            today switch { { } v when v > slo => CardStatus.Critical, { } v when v > 0.8 * slo => CardStatus.Warning, _ => CardStatus.Ok });

        var ttftMs = MetricsReader.Ms(f.TtftP95TodayMs);
        var ttft = new TtftCard(
            ttftMs, s.TtftGoalMs, s.TtftRedMs,
            ttftMs switch { { } v when v > s.TtftRedMs => CardStatus.Critical, { } v when v > s.TtftGoalMs => CardStatus.Warning, _ => CardStatus.Ok });

        var rated = f.FeedbackUp24h + f.FeedbackDown24h;
        double? ratio = rated == 0 ? null : Math.Round((double)f.FeedbackUp24h / rated, 4);
        var feedback = new FeedbackCard(
            f.FeedbackUp24h, f.FeedbackDown24h, ratio, s.FeedbackGoal, s.FeedbackRedBelow,
            ratio switch { { } r when r < (double)s.FeedbackRedBelow => CardStatus.Critical, { } r when r < (double)s.FeedbackGoal => CardStatus.Warning, _ => CardStatus.Ok });

        return new DashboardStatsResponse(f.AsOf, f.Day, dau, cost, errors, latency, ttft, feedback);
    }

    /// <summary>Change from <paramref name="before"/> to <paramref name="now"/> in percent (2 decimals); null when before is 0.</summary>
    public static decimal? DeltaPct(decimal now, decimal before) => before == 0 ? null : Money.Percent(now - before, before);

    private static decimal Amount(decimal usd, decimal rate, int decimals) => Money.Normalize(decimal.Round(usd * rate, decimals, MidpointRounding.AwayFromZero));

    private static double? Seconds(double? ms) => ms is { } v ? Math.Round(v / 1000, 3) : null;
}
