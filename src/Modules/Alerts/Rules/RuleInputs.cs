namespace Ops.Modules.Alerts.Rules;

/// <summary>
/// What the rules read for one tenant at one instant, gathered from the Usage module's contracts (and nothing
/// else), so the engine itself is pure.
/// </summary>
internal sealed record RuleInputs
{
    public decimal CostTodayUsd { get; init; }

    /// <summary>The tenant's daily budget (day budget, else month budget / days in month); null without a budget.</summary>
    public decimal? DailyBudgetUsd { get; init; }

    public long Errors24h { get; init; }

    public long CriticalErrors24h { get; init; }

    /// <summary>p95 latency over the <see cref="RuleCatalog.LatencyP95"/> rule's window; null without samples.</summary>
    public double? LatencyP95Ms { get; init; }

    /// <summary>p95 time to first token over the <see cref="RuleCatalog.TtftP95"/> rule's window; null without samples.</summary>
    public double? TtftP95Ms { get; init; }

    public long FeedbackUp24h { get; init; }

    public long FeedbackDown24h { get; init; }

    /// <summary>[today, yesterday, 2 days ago, 3 days ago].</summary>
    public IReadOnlyList<long> DauByDay { get; init; } = [];

    public long UnpricedEvents24h { get; init; }

    /// <summary>Which models had unpriced events (for the message).</summary>
    public IReadOnlyList<string> UnpricedModels { get; init; } = [];

    public IReadOnlyList<BudgetFigure> Budgets { get; init; } = [];
}

/// <summary>One budgeted entity's standing this period (from the Usage module's budget status).</summary>
/// <param name="EntityType">tenant, agent or user.</param>
/// <param name="AtWarning">At or above the budget's warning_pct (exceeded included), as the Usage module states it (compared before rounding).</param>
/// <param name="Exceeded">At or above 100 % of the limit.</param>
internal sealed record BudgetFigure(
    string EntityType,
    string EntityId,
    string Period,
    DateOnly PeriodStart,
    decimal LimitUsd,
    decimal WarningPct,
    decimal CurrentCostUsd,
    decimal Percent,
    bool AtWarning,
    bool Exceeded);

/// <summary>A rule's condition holds: the alert with this key is (or stays) firing.</summary>
internal sealed record Finding(
    string Rule,
    string? EntityType,
    string? EntityId,
    decimal Value,
    decimal Threshold,
    string Message,
    DateOnly? PeriodStart = null)
{
    public string Key => RuleCatalog.AlertKey(Rule, EntityType, EntityId);
}
