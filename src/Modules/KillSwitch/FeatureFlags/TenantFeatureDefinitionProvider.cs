using Microsoft.FeatureManagement;
using Ops.Modules.KillSwitch.Flags;

namespace Ops.Modules.KillSwitch.FeatureFlags;

/// <summary>
/// FeatureManagement's definitions, backed by the kill-switch tables through the in-memory flag cache (so an
/// evaluation never touches the database). Names are tenant-qualified (<see cref="FeatureNames"/>); an
/// expired flag has no definition, i.e. is off.
/// </summary>
internal sealed class TenantFeatureDefinitionProvider(FlagCache cache) : IFeatureDefinitionProvider
{
    public Task<FeatureDefinition> GetFeatureDefinitionAsync(string featureName)
    {
        var flag = FeatureNames.TrySplit(featureName, out var tenantId, out var feature) ? cache.FindFeature(tenantId, feature) : null;
        // FeatureManagement's contract: null means "no such feature" (evaluated as off).
        return Task.FromResult(flag?.Definition!);
    }

    public async IAsyncEnumerable<FeatureDefinition> GetAllFeatureDefinitionsAsync()
    {
        await Task.CompletedTask;
        foreach (var flag in cache.AllFeatures())
        {
            yield return flag.Definition;
        }
    }
}
