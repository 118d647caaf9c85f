using Ops.Modules.Alerts.Rules;
using Shouldly;
using Xunit;

namespace Ops.Modules.Alerts.Tests.Unit;

/// <summary>The rules as pure functions: each fires one step past its threshold, never at it.</summary>
public sealed class RuleEngineTests
{
    private static readonly DateOnly Today = new(2026, 5, 18);

    public static TheoryData<int> BoundaryCases => new(Enumerable.Range(0, Boundaries.Length));

    private static readonly (string Rule, decimal Threshold, RuleInputs At, RuleInputs Past)[] Boundaries =
    [
        // rule, threshold, inputs at the threshold (silent), inputs one step past it (fires)
        (RuleCatalog.ErrorsCritical, 0m, new RuleInputs { CriticalErrors24h = 0 }, new RuleInputs { CriticalErrors24h = 1 }),
        (RuleCatalog.Errors, 20m, new RuleInputs { Errors24h = 20 }, new RuleInputs { Errors24h = 21 }),
        (RuleCatalog.CostOverBudget, 25m, new RuleInputs { CostTodayUsd = 25m }, new RuleInputs { CostTodayUsd = 25.0001m }),
        (RuleCatalog.LatencyP95, 3000m, new RuleInputs { LatencyP95Ms = 3000 }, new RuleInputs { LatencyP95Ms = 3000.5 }),
        (RuleCatalog.TtftP95, 2000m, new RuleInputs { TtftP95Ms = 2000 }, new RuleInputs { TtftP95Ms = 2001 }),
        (RuleCatalog.FeedbackRatio, 0.8m, new RuleInputs { FeedbackUp24h = 80, FeedbackDown24h = 20 }, new RuleInputs { FeedbackUp24h = 79, FeedbackDown24h = 21 }),
        (RuleCatalog.DauDrop, 10m, new RuleInputs { DauByDay = [5, 81, 90, 100] }, new RuleInputs { DauByDay = [5, 80, 89, 100] }),
        (RuleCatalog.UnpricedModel, 0m, new RuleInputs { UnpricedEvents24h = 0 }, new RuleInputs { UnpricedEvents24h = 1, UnpricedModels = ["gpt-9"] }),
    ];

    [Theory]
    [MemberData(nameof(BoundaryCases))]
    public void A_rule_is_silent_at_its_threshold_and_fires_past_it(int index)
    {
        var (rule, threshold, at, past) = Boundaries[index];
        var rules = Only(rule, threshold);
        RuleEngine.Evaluate(at, rules).ShouldBeEmpty();
        var finding = RuleEngine.Evaluate(past, rules).ShouldHaveSingleItem();
        finding.Key.ShouldBe(rule);
        finding.Threshold.ShouldBe(threshold);
        finding.Message.ShouldNotBeNullOrWhiteSpace();
    }

    [Fact]
    public void No_data_never_fires()
    {
        var all = RuleCatalog.All.ToDictionary(r => r.Key, r => r.Defaults with { Threshold = r.DefaultThreshold is null ? null : 0m });
        RuleEngine.Evaluate(new RuleInputs(), all)
            .ShouldBeEmpty("no latency samples, no ratings, no DAU history, no budgets: nothing to say");
    }

    [Fact]
    public void The_daily_budget_replaces_the_cost_threshold_when_the_tenant_has_one()
    {
        var rules = Only(RuleCatalog.CostOverBudget, 25m);
        RuleEngine.Evaluate(new RuleInputs { CostTodayUsd = 11m, DailyBudgetUsd = 10m }, rules).ShouldHaveSingleItem().Threshold.ShouldBe(10m);
        RuleEngine.Evaluate(new RuleInputs { CostTodayUsd = 30m, DailyBudgetUsd = 40m }, rules).ShouldBeEmpty();
    }

    [Fact]
    public void Feedback_needs_its_minimum_of_ratings()
    {
        var rules = Only(RuleCatalog.FeedbackRatio, 0.8m, minRatings: 20);
        RuleEngine.Evaluate(new RuleInputs { FeedbackUp24h = 1, FeedbackDown24h = 18 }, rules).ShouldBeEmpty();
        RuleEngine.Evaluate(new RuleInputs { FeedbackUp24h = 1, FeedbackDown24h = 19 }, rules).ShouldHaveSingleItem().Value.ShouldBe(0.05m);
    }

    [Fact]
    public void Dau_drop_needs_two_falls_of_complete_days()
    {
        var rules = Only(RuleCatalog.DauDrop, 0m);
        RuleEngine.Evaluate(new RuleInputs { DauByDay = [0, 90, 95, 100] }, rules).ShouldHaveSingleItem();
        RuleEngine.Evaluate(new RuleInputs { DauByDay = [0, 96, 95, 100] }, rules).ShouldBeEmpty("yesterday rose");
        RuleEngine.Evaluate(new RuleInputs { DauByDay = [1, 100, 100, 100] }, rules).ShouldBeEmpty("today is incomplete and does not count");
    }

    [Fact]
    public void Budget_rules_fire_per_entity_from_the_budget_state()
    {
        var rules = RuleCatalog.All.Where(r => r.Key is RuleCatalog.BudgetWarning or RuleCatalog.BudgetExceeded)
            .ToDictionary(r => r.Key, r => r.Defaults);
        var inputs = new RuleInputs
        {
            Budgets =
            [
                new BudgetFigure("agent", "support-bot", "day", Today, 10m, 80m, 8m, 80m, AtWarning: true, Exceeded: false),
                new BudgetFigure("user", "u_1", "month", new DateOnly(2026, 5, 1), 100m, 80m, 100m, 100m, AtWarning: true, Exceeded: true),
                new BudgetFigure("tenant", "acme", "day", Today, 50m, 80m, 39.99m, 79.98m, AtWarning: false, Exceeded: false),
            ],
        };

        var keys = RuleEngine.Evaluate(inputs, rules).Select(f => (f.Key, f.PeriodStart)).ToList();
        keys.ShouldBe(
        [
            ("budget_warning:agent:support-bot", Today),
            ("budget_warning:user:u_1", new DateOnly(2026, 5, 1)),
            ("budget_exceeded:user:u_1", new DateOnly(2026, 5, 1)),
        ]);
    }

    [Fact]
    public void Disabled_rules_never_fire()
    {
        var rules = new Dictionary<string, RuleSettings> { [RuleCatalog.Errors] = new(RuleCatalog.Errors, false, 0m, null, null) };
        RuleEngine.Evaluate(new RuleInputs { Errors24h = 1000 }, Disable(rules)).ShouldBeEmpty();
    }

    [Theory]
    [InlineData("errors_24h", true)]
    [InlineData("spend_breaker:user:u_1", true)]
    [InlineData("budget_exceeded:agent:support-bot", true)]
    [InlineData("budget_exceeded:model:x", false)]
    [InlineData("errors_24h:agent:x", false)]
    [InlineData("nope", false)]
    [InlineData("budget_warning:agent:", false)]
    public void Snoozable_keys_are_rules_or_per_entity_alert_keys(string key, bool valid) =>
        RuleCatalog.IsSnoozableKey(key).ShouldBe(valid);

    private static Dictionary<string, RuleSettings> Disable(Dictionary<string, RuleSettings> rules)
    {
        foreach (var r in RuleCatalog.All.Where(r => !rules.ContainsKey(r.Key)))
        {
            rules[r.Key] = r.Defaults with { Enabled = false };
        }

        return rules;
    }

    private static Dictionary<string, RuleSettings> Only(string rule, decimal threshold, int? minRatings = null) =>
        RuleCatalog.All.ToDictionary(
            r => r.Key,
            r => r.Key == rule ? r.Defaults with { Threshold = threshold, MinRatings = minRatings ?? r.DefaultMinRatings } : r.Defaults with { Enabled = false });
}
