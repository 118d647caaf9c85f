using System.Text.Json;
using FastEndpoints;
using FluentValidation;
using Ops.Modules.KillSwitch.Contracts;
using Ops.Modules.KillSwitch.Enforcement;
using Ops.Modules.KillSwitch.FeatureFlags;
using Ops.Modules.KillSwitch.Flags;
using Ops.Modules.Shared.Security;

namespace Ops.Modules.KillSwitch.Features.EvaluateFeature;

internal sealed class EvaluateFeatureRequest
{
    /// <summary>The feature flag's key.</summary>
    public string Feature { get; init; } = string.Empty;

    /// <summary>The user to evaluate for (targeting, sticky percentage rollouts and variant allocation use it).</summary>
    public string? UserId { get; init; }

    /// <summary>The user's groups, for group targeting (repeat the parameter or separate with commas).</summary>
    public string[]? Groups { get; init; }

    /// <summary>The agent asking; a killed agent is refused (503) like a killed user.</summary>
    public string? AgentId { get; init; }
}

internal sealed class EvaluateFeatureValidator : Validator<EvaluateFeatureRequest>
{
    public EvaluateFeatureValidator()
    {
        RuleFor(r => r.Feature).NotEmpty().Must(f => FlagKeys.TryParse(f, out var key, out _) && key.Kind == FlagKind.Feature)
            .WithMessage("must be a feature flag's key (letters, digits, '.', '_', '-').");
        RuleFor(r => r.UserId).MaximumLength(FlagKeys.MaxSubjectLength);
        RuleFor(r => r.Groups).Must(g => g is null || (g.Length <= 100 && g.All(x => x.Length <= 200))).WithMessage("at most 100 groups of at most 200 characters.");
    }
}

internal sealed record VariantResponse(string Name, JsonElement? Configuration);

/// <param name="Defined">False when the tenant has no such flag (or it expired): enabled is then false.</param>
internal sealed record EvaluateFeatureResponse(string Feature, bool Defined, bool Enabled, VariantResponse? Variant, bool Stale);

/// <summary>
/// Evaluates a feature flag for a user through Microsoft.FeatureManagement, from memory. Guarded by the kill
/// switch: a killed caller (killall, its user or agent) gets 503 with the reason, like any agent-facing route.
/// </summary>
internal sealed class EvaluateFeatureEndpoint(FeatureEvaluator evaluator, FlagCache cache) : Endpoint<EvaluateFeatureRequest, EvaluateFeatureResponse>
{
    public override void Configure()
    {
        Get("/v1/flags/evaluate");
        Roles(Ops.Modules.Shared.Security.Roles.Ingest, Ops.Modules.Shared.Security.Roles.Read);
        PreProcessor<KillSwitchPreProcessor<EvaluateFeatureRequest>>();
        Summary(s =>
        {
            s.Summary = "Evaluate a feature flag for a user";
            s.Description = "Percentage rollouts are sticky per user; time windows use the server's clock; targeting takes user_id and groups.";
            s.Responses[503] = "The caller is halted by the kill switch (reason and Retry-After given).";
        });
    }

    public override async Task HandleAsync(EvaluateFeatureRequest req, CancellationToken ct)
    {
        var groups = req.Groups?.SelectMany(g => g.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
        var result = await evaluator.EvaluateAsync(HttpContext.GetCaller().TenantId, req.Feature, string.IsNullOrEmpty(req.UserId) ? null : req.UserId, groups, ct);
        HttpContext.Response.Headers.CacheControl = "no-store";
        await Send.OkAsync(
            new EvaluateFeatureResponse(
                result.Feature, result.Defined, result.Enabled, result.Variant is null ? null : new VariantResponse(result.Variant, result.VariantConfiguration), cache.IsStale),
            ct);
    }
}
