using Microsoft.FeatureManagement;
using Microsoft.FeatureManagement.FeatureFilters;
using Ops.Modules.KillSwitch.Contracts;
using Ops.Modules.KillSwitch.Flags;

namespace Ops.Modules.KillSwitch.FeatureFlags;

/// <summary>Evaluates a tenant's feature flag for a user through FeatureManagement (filters, variants and allocation are Microsoft's).</summary>
internal sealed class FeatureEvaluator(FlagCache cache, IVariantFeatureManager features)
{
    public async ValueTask<FeatureEvaluation> EvaluateAsync(string tenantId, string feature, string? userId, IReadOnlyList<string>? groups, CancellationToken cancellationToken)
    {
        var flag = cache.FindFeature(tenantId, feature);
        if (flag is null)
        {
            return new FeatureEvaluation(feature, Defined: false, Enabled: false, Variant: null, VariantConfiguration: null);
        }

        var name = FeatureNames.Qualify(tenantId, feature);
        var context = new TargetingContext { UserId = userId, Groups = groups ?? [] };
        var enabled = await features.IsEnabledAsync(name, context, cancellationToken);
        string? variant = null;
        if (flag.Definition.Variants?.Any() == true)
        {
            variant = (await features.GetVariantAsync(name, context, cancellationToken))?.Name;
        }

        return new FeatureEvaluation(feature, Defined: true, enabled, variant, variant is null ? null : FeatureDefinitions.VariantConfiguration(flag.State.Value, variant));
    }
}
