using FastEndpoints;
using FluentValidation.Results;
using Microsoft.AspNetCore.Http;
using Npgsql;
using Ops.Modules.Alerts.Evaluation;
using Ops.Modules.Alerts.Rules;
using Ops.Modules.Audit.Contracts;
using Ops.Modules.Shared.Http;
using Ops.Modules.Shared.Security;

namespace Ops.Modules.Alerts.Features.Rules;

/// <param name="Threshold">The rule's threshold (null for the budget rules: each budget carries its own warning_pct).</param>
/// <param name="WindowMinutes">The latency rules' window (null for the others).</param>
/// <param name="MinRatings">feedback_ratio's minimum number of ratings (null for the others).</param>
internal sealed record RuleResponse(string Key, string Description, bool Enabled, decimal? Threshold, int? WindowMinutes, int? MinRatings)
{
    public static RuleResponse From(RuleDefinition definition, RuleSettings settings) =>
        new(definition.Key, definition.Description, settings.Enabled, settings.Threshold, settings.WindowMinutes, settings.MinRatings);
}

internal sealed record ListRulesResponse(IReadOnlyList<RuleResponse> Items);

/// <summary>The built-in rules with the tenant's settings.</summary>
internal sealed class ListRulesEndpoint(RuleStore rules) : EndpointWithoutRequest<ListRulesResponse>
{
    public override void Configure()
    {
        Get("/v1/alerts/rules");
        Roles(Ops.Modules.Shared.Security.Roles.Read);
        Summary(s => s.Summary = "List the alert rules and their settings");
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        var settings = await rules.GetAsync(HttpContext.GetCaller().TenantId, ct);
        await Send.OkAsync(new ListRulesResponse([.. RuleCatalog.All.Select(d => RuleResponse.From(d, settings[d.Key]))]), ct);
    }
}

internal sealed class UpdateRuleRequest
{
    /// <summary>The rule key (see GET /v1/alerts/rules).</summary>
    public string Key { get; init; } = string.Empty;

    [FromBody]
    public UpdateRuleBody Body { get; init; } = new();
}

/// <summary>The body of PUT /v1/alerts/rules/{key}.</summary>
internal sealed class UpdateRuleBody
{
    /// <summary>On or off (required).</summary>
    public bool? Enabled { get; init; }

    /// <summary>The new threshold (omit to keep it). Not accepted by budget_warning / budget_exceeded.</summary>
    public decimal? Threshold { get; init; }

    /// <summary>p95_latency and ttft_p95 only: the window in minutes (1–1440).</summary>
    public int? WindowMinutes { get; init; }

    /// <summary>feedback_ratio only: the fewest ratings in 24 h for the rule to apply (1–1,000,000).</summary>
    public int? MinRatings { get; init; }
}

/// <summary>Changes one rule for the tenant. Audited (<c>alert_rule.changed</c>, before/after).</summary>
internal sealed class UpdateRuleEndpoint(NpgsqlDataSource dataSource, WatchedTenants tenants, IAuditWriter audit, TimeProvider time) : Endpoint<UpdateRuleRequest, RuleResponse>
{
    public override void Configure()
    {
        Put("/v1/alerts/rules/{key}");
        Roles(Ops.Modules.Shared.Security.Roles.Admin);
        Description(b => b.ClearDefaultAccepts().Accepts<UpdateRuleBody>("application/json"));
        Summary(s =>
        {
            s.Summary = "Change an alert rule (on/off, threshold, window, minimum ratings)";
            s.Responses[404] = "No such rule.";
        });
    }

    public override async Task HandleAsync(UpdateRuleRequest req, CancellationToken ct)
    {
        if (RuleCatalog.Find(req.Key) is not { } definition)
        {
            await Send.ResultAsync(Problems.NotFound($"There is no rule '{req.Key}'."));
            return;
        }

        var body = req.Body;
        Validate(body, definition);
        ThrowIfAnyErrors();

        var caller = HttpContext.GetCaller();
        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var before = await RuleStore.GetForUpdateAsync(caller.TenantId, definition, connection, transaction, ct);
        var after = before with
        {
            Enabled = body.Enabled!.Value,
            Threshold = body.Threshold ?? before.Threshold,
            WindowMinutes = body.WindowMinutes ?? before.WindowMinutes,
            MinRatings = body.MinRatings ?? before.MinRatings,
        };
        await RuleStore.SaveAsync(caller.TenantId, after, now, caller.Actor, connection, transaction, ct);
        await audit.WriteAsync(
            OperatorAction.Create(HttpContext, "alert_rule.changed", now, $"alert_rule:{definition.Key}", RuleResponse.From(definition, before), RuleResponse.From(definition, after)),
            connection, transaction, ct);
        await transaction.CommitAsync(ct);
        await tenants.EnsureAsync(caller.TenantId, ct);
        await Send.OkAsync(RuleResponse.From(definition, after), ct);
    }

    private void Validate(UpdateRuleBody req, RuleDefinition definition)
    {
        if (req.Enabled is null)
        {
            AddError(new ValidationFailure("enabled", "is required (true or false)."));
        }

        if (req.Threshold is { } threshold)
        {
            if (!definition.HasThreshold)
            {
                AddError(new ValidationFailure("threshold", "is set per budget (warning_pct) for this rule, not on the rule."));
            }
            else if (threshold < 0)
            {
                AddError(new ValidationFailure("threshold", "must not be negative."));
            }
            else if (definition.Key == RuleCatalog.FeedbackRatio && threshold > 1)
            {
                AddError(new ValidationFailure("threshold", "is a ratio between 0 and 1 for feedback_ratio (0.8 = 80 %)."));
            }
        }

        if (req.WindowMinutes is { } window && (definition.DefaultWindowMinutes is null || window is < 1 or > RuleCatalog.MaxWindowMinutes))
        {
            AddError(new ValidationFailure("window_minutes", definition.DefaultWindowMinutes is null
                ? "applies to p95_latency and ttft_p95 only."
                : $"must be between 1 and {RuleCatalog.MaxWindowMinutes}."));
        }

        if (req.MinRatings is { } min && (definition.DefaultMinRatings is null || min is < 1 or > 1_000_000))
        {
            AddError(new ValidationFailure("min_ratings", definition.DefaultMinRatings is null ? "applies to feedback_ratio only." : "must be between 1 and 1,000,000."));
        }
    }
}
