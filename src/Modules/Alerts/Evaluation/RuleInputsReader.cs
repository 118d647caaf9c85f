using Ops.Modules.Alerts.Rules;
using Ops.Modules.Usage.Contracts;

namespace Ops.Modules.Alerts.Evaluation;

/// <summary>Gathers a tenant's <see cref="RuleInputs"/> from the Usage module's contracts (signals, budgets, unpriced models).</summary>
internal sealed class RuleInputsReader(IUsageSignals signals, IUsageBudgets budgets, IUsageSpendReader spend)
{
    public async Task<RuleInputs> ReadAsync(string tenantId, IReadOnlyDictionary<string, RuleSettings> rules, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var latencyWindow = WindowOf(rules, RuleCatalog.LatencyP95);
        var ttftWindow = WindowOf(rules, RuleCatalog.TtftP95);
        var main = await signals.GetAsync(tenantId, latencyWindow, cancellationToken);
        var ttft = ttftWindow == latencyWindow ? main : await signals.GetAsync(tenantId, ttftWindow, cancellationToken);
        var statuses = await budgets.GetStatusAsync(tenantId, cancellationToken);
        var unpricedModels = main.UnpricedEvents24h > 0
            ? (await spend.GetUnpricedModelsAsync(tenantId, now.AddHours(-24), cancellationToken)).Select(u => u.Model).Distinct(StringComparer.Ordinal).ToList()
            : [];
        return new RuleInputs
        {
            CostTodayUsd = main.CostTodayUsd,
            DailyBudgetUsd = main.DailyBudgetUsd,
            Errors24h = main.Errors24h,
            CriticalErrors24h = main.CriticalErrors24h,
            LatencyP95Ms = main.LatencySamples > 0 ? main.LatencyP95Ms : null,
            TtftP95Ms = ttft.TtftSamples > 0 ? ttft.TtftP95Ms : null,
            FeedbackUp24h = main.FeedbackUp24h,
            FeedbackDown24h = main.FeedbackDown24h,
            DauByDay = main.DauByDay,
            UnpricedEvents24h = main.UnpricedEvents24h,
            UnpricedModels = unpricedModels,
            Budgets = [.. statuses.Where(s => s.State is not BudgetState.NoLimit).Select(ToFigure)],
        };
    }

    private static TimeSpan WindowOf(IReadOnlyDictionary<string, RuleSettings> rules, string rule) =>
        TimeSpan.FromMinutes(rules.GetValueOrDefault(rule)?.WindowMinutes ?? RuleCatalog.Find(rule)!.DefaultWindowMinutes!.Value);

    private static BudgetFigure ToFigure(BudgetStatus s) => new(
        s.Scope switch { BudgetScope.Tenant => "tenant", BudgetScope.Agent => "agent", _ => "user" },
        s.Id,
        s.Period == BudgetPeriod.Day ? "day" : "month",
        s.PeriodStart,
        s.LimitUsd,
        s.WarningPct,
        s.CurrentCostUsd,
        s.Percent,
        AtWarning: s.State is BudgetState.Warning or BudgetState.Exceeded,
        Exceeded: s.State is BudgetState.Exceeded);
}
