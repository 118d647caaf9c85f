using Ops.Modules.Usage.Pricing;

namespace Ops.Modules.Usage.Ingestion;

/// <summary>Prices events in memory: one resolution per (day, model) in the batch, then the exact cost per event.</summary>
internal static class EventPricer
{
    public const string UnknownProvider = "unknown";

    public static void Price(PricingSnapshot snapshot, string tenantId, IReadOnlyList<PricingAssignment> assignments, IEnumerable<UsageEvent> events)
    {
        var resolutions = new Dictionary<(DateOnly, string), PriceResolution>();
        foreach (var e in events)
        {
            var key = (e.Day, e.Model);
            if (!resolutions.TryGetValue(key, out var resolution))
            {
                resolutions[key] = resolution = snapshot.Resolve(tenantId, e.Day, e.Model, assignments);
            }

            e.Provider = e.ReportedProvider ?? resolution.Price?.Provider ?? snapshot.ProviderOf(tenantId, e.Model) ?? UnknownProvider;
            e.PricingVersion = resolution.VersionId;
            e.Unpriced = !resolution.IsPriced;
            e.CostUsd = resolution.Price is { } price
                ? PriceCalculator.Cost(price, new TokenUsage(e.TokensIn, e.TokensOut, e.CacheReadTokens, e.CacheWriteTokens))
                : 0m;
        }
    }
}
