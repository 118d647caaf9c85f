namespace Ops.Modules.Usage.Pricing;

/// <summary>
/// The one cost formula (its SQL twin, <c>usage.cost_of</c>, reprices history and is tested against it):
/// <c>tokens_in</c> includes the cache tokens; cache reads and writes are priced at their own rates (the input rate
/// when the version has none), the rest of the input at the input rate, the output at the output rate. Above the
/// long-context threshold the whole request uses the tier's rates. Exact decimal arithmetic, never rounded.
/// </summary>
internal static class PriceCalculator
{
    private const decimal TokensPerUnit = 1_000_000m;

    public static decimal Cost(ModelPrice price, TokenUsage usage)
    {
        var rates = price.LongContext is { } tier && usage.TokensIn > tier.ThresholdTokens ? tier.Rates : price.Rates;
        var uncachedInput = usage.TokensIn - usage.CacheReadTokens - usage.CacheWriteTokens;
        if (uncachedInput < 0)
        {
            throw new ArgumentException("Cache tokens are part of tokens_in and cannot exceed it.", nameof(usage));
        }

        var micro = (uncachedInput * rates.InputPerMTok)
                    + (usage.CacheReadTokens * (rates.CacheReadPerMTok ?? rates.InputPerMTok))
                    + (usage.CacheWriteTokens * (rates.CacheWritePerMTok ?? rates.InputPerMTok))
                    + (usage.TokensOut * rates.OutputPerMTok);
        return micro / TokensPerUnit;
    }
}
