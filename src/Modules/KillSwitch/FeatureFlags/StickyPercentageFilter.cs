using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.FeatureManagement;
using Microsoft.FeatureManagement.FeatureFilters;

namespace Ops.Modules.KillSwitch.FeatureFlags;

/// <summary>
/// <c>Microsoft.Percentage</c> when the evaluation names a user: the built-in filter draws a random number on
/// every call, so an agent asking twice for the same user could get two answers. This contextual filter (same
/// alias, same <c>Value</c> parameter) buckets the user by a hash of feature and user id instead, so each user
/// consistently gets the same answer, and raising the percentage only adds users. FeatureManagement picks it
/// for evaluations that carry a targeting context; evaluations without one still use the built-in filter.
/// </summary>
[FilterAlias(FeatureDefinitions.Percentage)]
internal sealed class StickyPercentageFilter : IContextualFeatureFilter<ITargetingContext>, IFilterParametersBinder
{
    public object BindParameters(IConfiguration filterParameters) =>
        filterParameters.Get<PercentageFilterSettings>() ?? new PercentageFilterSettings();

    public Task<bool> EvaluateAsync(FeatureFilterEvaluationContext featureFilterContext, ITargetingContext appContext)
    {
        var settings = featureFilterContext.Settings as PercentageFilterSettings
            ?? (PercentageFilterSettings)BindParameters(featureFilterContext.Parameters);
        if (settings.Value <= 0)
        {
            return Task.FromResult(false);
        }

        var bucket = string.IsNullOrEmpty(appContext.UserId)
            ? Random.Shared.NextDouble() * 100
            : Bucket(featureFilterContext.FeatureName, appContext.UserId);
        return Task.FromResult(bucket < settings.Value);
    }

    /// <summary>A stable position of the user in [0, 100) for this feature.</summary>
    internal static double Bucket(string feature, string userId)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes($"{userId}\n{feature}\npercentage"), hash);
        return BinaryPrimitives.ReadUInt32LittleEndian(hash) / ((double)uint.MaxValue + 1) * 100;
    }
}
