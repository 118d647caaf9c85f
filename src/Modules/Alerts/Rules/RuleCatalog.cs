namespace Ops.Modules.Alerts.Rules;

/// <summary>A built-in rule and its defaults. Tenants change <c>enabled</c>, <c>threshold</c>, <c>window_minutes</c>, <c>min_ratings</c>.</summary>
/// <param name="PerEntity">Fires once per budgeted tenant/agent/user (key <c>rule:entity_type:entity_id</c>) instead of once per tenant.</param>
/// <param name="OncePerPeriod">Notifies at most once per budget period per entity (instead of once per dedup window).</param>
internal sealed record RuleDefinition(
    string Key,
    string Description,
    decimal? DefaultThreshold,
    int? DefaultWindowMinutes,
    int? DefaultMinRatings,
    bool PerEntity = false,
    bool OncePerPeriod = false)
{
    public bool HasThreshold => DefaultThreshold is not null;

    public RuleSettings Defaults => new(Key, true, DefaultThreshold, DefaultWindowMinutes, DefaultMinRatings);
}

/// <summary>A rule as a tenant has it (defaults merged with the tenant's overrides).</summary>
internal sealed record RuleSettings(string Key, bool Enabled, decimal? Threshold, int? WindowMinutes, int? MinRatings);

internal static class RuleCatalog
{
    public const string ErrorsCritical = "errors_critical_24h";
    public const string Errors = "errors_24h";
    public const string CostOverBudget = "cost_over_budget";
    public const string LatencyP95 = "p95_latency";
    public const string TtftP95 = "ttft_p95";
    public const string BudgetWarning = "budget_warning";
    public const string BudgetExceeded = "budget_exceeded";
    public const string FeedbackRatio = "feedback_ratio";
    public const string DauDrop = "dau_drop";
    public const string UnpricedModel = "unpriced_model";

    /// <summary>Not a listed rule: the spend breaker fires it (configured under /v1/alerts/breaker), per user or agent.</summary>
    public const string SpendBreaker = "spend_breaker";

    public const int MaxWindowMinutes = 24 * 60;

    public static readonly IReadOnlyList<RuleDefinition> All =
    [
        new(ErrorsCritical, "Critical errors in the last 24 h above the threshold (default 0: any critical error).", 0m, null, null),
        new(Errors, "Errors in the last 24 h above the threshold (default 20).", 20m, null, null),
        new(CostOverBudget, "Today's cost (UTC) above the tenant's daily budget (its day budget, else month budget / days in month); without a budget, above the threshold in USD (default 25).", 25m, null, null),
        new(LatencyP95, "p95 latency over the window (default 15 min) above the threshold in ms (default 3000, the SLO).", 3000m, 15, null),
        new(TtftP95, "p95 time to first token over the window (default 15 min) above the threshold in ms (default 2000).", 2000m, 15, null),
        new(BudgetWarning, "A budgeted tenant, agent or user reached its budget's warning_pct (default 80 %) this period; once per period per entity.", null, null, null, PerEntity: true, OncePerPeriod: true),
        new(BudgetExceeded, "A budgeted tenant, agent or user reached 100 % of its budget this period; once per period per entity.", null, null, null, PerEntity: true, OncePerPeriod: true),
        new(FeedbackRatio, "Thumbs-up share of the last 24 h's ratings below the threshold (default 0.8), with at least min_ratings ratings (default 20).", 0.8m, null, 20),
        new(DauDrop, "Daily active users fell two complete days in a row (yesterday < the day before < the day before that), each fall larger than the threshold in % (default 0).", 0m, null, null),
        new(UnpricedModel, "Events of the last 24 h whose model had no price, above the threshold (default 0).", 0m, null, null),
    ];

    private static readonly Dictionary<string, RuleDefinition> ByKey = All.ToDictionary(r => r.Key, StringComparer.Ordinal);

    public static RuleDefinition? Find(string key) => ByKey.GetValueOrDefault(key);

    /// <summary>Rule keys alerts can carry (the listed rules and the spend breaker).</summary>
    public static bool IsAlertRule(string rule) => ByKey.ContainsKey(rule) || rule == SpendBreaker;

    public static bool IsPerEntity(string rule) => rule == SpendBreaker || ByKey.GetValueOrDefault(rule)?.PerEntity == true;

    /// <summary>The alert key: the rule key, or <c>rule:entity_type:entity_id</c> for per-entity rules.</summary>
    public static string AlertKey(string rule, string? entityType, string? entityId) =>
        entityType is null ? rule : $"{rule}:{entityType}:{entityId}";

    /// <summary>The rule part of an alert key.</summary>
    public static string RuleOf(string key)
    {
        var colon = key.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? key : key[..colon];
    }

    /// <summary>
    /// Whether <paramref name="key"/> names something an operator can snooze: a rule key (all its entities) or one
    /// entity's alert key (<c>budget_exceeded:agent:support-bot</c>).
    /// </summary>
    public static bool IsSnoozableKey(string key)
    {
        var parts = key.Split(':', 3);
        if (!IsAlertRule(parts[0]))
        {
            return false;
        }

        return parts.Length == 1
               || (parts.Length == 3 && IsPerEntity(parts[0]) && parts[1] is "tenant" or "agent" or "user" && parts[2].Length is > 0 and <= 200);
    }
}
