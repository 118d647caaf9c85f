using System.Globalization;

namespace Ops.Modules.Alerts.Rules;

/// <summary>
/// The built-in rules as pure functions of <see cref="RuleInputs"/>: which alerts should be firing now. Every rule
/// fires strictly above its threshold (or below, for the feedback ratio), so a value at the threshold does not fire.
/// State, dedup and snoozes are the evaluator's business.
/// </summary>
internal static class RuleEngine
{
    public static IReadOnlyList<Finding> Evaluate(RuleInputs inputs, IReadOnlyDictionary<string, RuleSettings> rules)
    {
        var findings = new List<Finding>();
        foreach (var definition in RuleCatalog.All)
        {
            var settings = rules.GetValueOrDefault(definition.Key) ?? definition.Defaults;
            if (settings.Enabled)
            {
                findings.AddRange(Evaluate(definition.Key, settings, inputs));
            }
        }

        return findings;
    }

    private static IEnumerable<Finding> Evaluate(string rule, RuleSettings settings, RuleInputs inputs)
    {
        var threshold = settings.Threshold ?? 0m;
        switch (rule)
        {
            case RuleCatalog.ErrorsCritical:
                if (inputs.CriticalErrors24h > threshold)
                {
                    yield return new Finding(rule, null, null, inputs.CriticalErrors24h, threshold,
                        Format($"{inputs.CriticalErrors24h} critical error(s) in the last 24 h (threshold {threshold})."));
                }

                break;
            case RuleCatalog.Errors:
                if (inputs.Errors24h > threshold)
                {
                    yield return new Finding(rule, null, null, inputs.Errors24h, threshold,
                        Format($"{inputs.Errors24h} errors in the last 24 h (threshold {threshold})."));
                }

                break;
            case RuleCatalog.CostOverBudget:
            {
                var budget = inputs.DailyBudgetUsd ?? threshold;
                if (inputs.CostTodayUsd > budget)
                {
                    var source = inputs.DailyBudgetUsd is null ? "the rule's threshold" : "the daily budget";
                    yield return new Finding(rule, null, null, inputs.CostTodayUsd, budget,
                        Format($"Today's cost ${inputs.CostTodayUsd:0.####} is over {source} of ${budget:0.####}."));
                }

                break;
            }

            case RuleCatalog.LatencyP95:
                if (inputs.LatencyP95Ms is { } p95 && (decimal)p95 > threshold)
                {
                    yield return new Finding(rule, null, null, Round(p95), threshold,
                        Format($"p95 latency {p95:0} ms over the last {settings.WindowMinutes} min is above {threshold} ms."));
                }

                break;
            case RuleCatalog.TtftP95:
                if (inputs.TtftP95Ms is { } ttft && (decimal)ttft > threshold)
                {
                    yield return new Finding(rule, null, null, Round(ttft), threshold,
                        Format($"p95 time to first token {ttft:0} ms over the last {settings.WindowMinutes} min is above {threshold} ms."));
                }

                break;
            case RuleCatalog.BudgetWarning:
                foreach (var b in inputs.Budgets.Where(b => b.AtWarning))
                {
                    yield return new Finding(rule, b.EntityType, b.EntityId, b.Percent, b.WarningPct,
                        Format($"The {b.EntityType} {b.EntityId} used {b.Percent:0.##} % of its {b.Period} budget of ${b.LimitUsd:0.####} (${b.CurrentCostUsd:0.####}; warning at {b.WarningPct:0.##} %)."),
                        b.PeriodStart);
                }

                break;
            case RuleCatalog.BudgetExceeded:
                foreach (var b in inputs.Budgets.Where(b => b.Exceeded))
                {
                    yield return new Finding(rule, b.EntityType, b.EntityId, b.Percent, 100m,
                        Format($"The {b.EntityType} {b.EntityId} exceeded its {b.Period} budget of ${b.LimitUsd:0.####}: ${b.CurrentCostUsd:0.####} ({b.Percent:0.##} %)."),
                        b.PeriodStart);
                }

                break;
            case RuleCatalog.FeedbackRatio:
            {
                var ratings = inputs.FeedbackUp24h + inputs.FeedbackDown24h;
                if (ratings > 0 && ratings >= (settings.MinRatings ?? 0))
                {
                    var ratio = Math.Round((decimal)inputs.FeedbackUp24h / ratings, 4);
                    if (ratio < threshold)
                    {
                        yield return new Finding(rule, null, null, ratio, threshold,
                            Format($"Thumbs-up share {ratio:P1} of {ratings} ratings in the last 24 h is below {threshold:P0}."));
                    }
                }

                break;
            }

            case RuleCatalog.DauDrop:
                if (inputs.DauByDay.Count >= 4)
                {
                    var (yesterday, before, beforeThat) = (inputs.DauByDay[1], inputs.DauByDay[2], inputs.DauByDay[3]);
                    var first = DropPct(beforeThat, before);
                    var second = DropPct(before, yesterday);
                    if (first is { } f && second is { } s && f > threshold && s > threshold)
                    {
                        yield return new Finding(rule, null, null, Math.Min(f, s), threshold,
                            Format($"Daily active users fell two days in a row: {beforeThat} → {before} → {yesterday} (-{f:0.##} %, -{s:0.##} %)."));
                    }
                }

                break;
            case RuleCatalog.UnpricedModel:
                if (inputs.UnpricedEvents24h > threshold)
                {
                    var models = inputs.UnpricedModels.Count == 0 ? string.Empty : $" ({string.Join(", ", inputs.UnpricedModels)})";
                    yield return new Finding(rule, null, null, inputs.UnpricedEvents24h, threshold,
                        Format($"{inputs.UnpricedEvents24h} event(s) in the last 24 h had no price{models}: add a pricing version and reprice."));
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(rule), rule, "Unknown rule.");
        }
    }

    /// <summary>How much <paramref name="to"/> fell below <paramref name="from"/>, in %; null when it did not fall.</summary>
    private static decimal? DropPct(long from, long to) =>
        from > 0 && to < from ? Math.Round(100m * (from - to) / from, 2) : null;

    private static decimal Round(double value) => Math.Round((decimal)value, 2);

    private static string Format(FormattableString message) => message.ToString(CultureInfo.InvariantCulture);
}
