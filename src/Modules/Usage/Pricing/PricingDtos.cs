namespace Ops.Modules.Usage.Pricing;

/// <summary>USD per 1M tokens. Cache rates default to the input rate when absent.</summary>
internal sealed class RatesDto
{
    public decimal InputPerMtok { get; init; }

    public decimal OutputPerMtok { get; init; }

    public decimal? CacheReadPerMtok { get; init; }

    public decimal? CacheWritePerMtok { get; init; }
}

/// <summary>Above <see cref="ThresholdTokens"/> input tokens, the whole request is priced at these rates.</summary>
internal sealed class LongContextDto
{
    public int ThresholdTokens { get; init; }

    public decimal InputPerMtok { get; init; }

    public decimal OutputPerMtok { get; init; }

    public decimal? CacheReadPerMtok { get; init; }

    public decimal? CacheWritePerMtok { get; init; }
}

internal sealed class ModelPriceDto
{
    public string Model { get; init; } = string.Empty;

    /// <summary>Who serves the model (e.g. anthropic); events without a provider get this one.</summary>
    public string Provider { get; init; } = string.Empty;

    public decimal InputPerMtok { get; init; }

    public decimal OutputPerMtok { get; init; }

    public decimal? CacheReadPerMtok { get; init; }

    public decimal? CacheWritePerMtok { get; init; }

    public LongContextDto? LongContext { get; init; }

    public static ModelPriceDto From(ModelPrice price) => new()
    {
        Model = price.Model,
        Provider = price.Provider,
        InputPerMtok = Money.Normalize(price.Rates.InputPerMTok),
        OutputPerMtok = Money.Normalize(price.Rates.OutputPerMTok),
        CacheReadPerMtok = Money.Normalize(price.Rates.CacheReadPerMTok),
        CacheWritePerMtok = Money.Normalize(price.Rates.CacheWritePerMTok),
        LongContext = price.LongContext is { } tier
            ? new LongContextDto
            {
                ThresholdTokens = tier.ThresholdTokens,
                InputPerMtok = Money.Normalize(tier.Rates.InputPerMTok),
                OutputPerMtok = Money.Normalize(tier.Rates.OutputPerMTok),
                CacheReadPerMtok = Money.Normalize(tier.Rates.CacheReadPerMTok),
                CacheWritePerMtok = Money.Normalize(tier.Rates.CacheWritePerMTok),
            }
            : null,
    };

    public ModelPrice ToModelPrice() => new(
        Model,
        Provider.ToLowerInvariant(),
        new TokenRates(InputPerMtok, OutputPerMtok, CacheReadPerMtok, CacheWritePerMtok),
        LongContext is { } tier
            ? new LongContextTier(tier.ThresholdTokens, new TokenRates(tier.InputPerMtok, tier.OutputPerMtok, tier.CacheReadPerMtok, tier.CacheWritePerMtok))
            : null);
}

/// <param name="Version">The version's id: what events and rollup rows carry as pricing_version.</param>
/// <param name="Scope">platform (the catalog every tenant uses) or tenant (a tenant's own prices, which win for the models they list).</param>
/// <param name="TenantId">The owning tenant of a tenant version; null for the platform catalog.</param>
internal sealed record PricingVersionDto(
    string Version,
    string Scope,
    string? TenantId,
    DateOnly EffectiveFrom,
    string? Description,
    DateTimeOffset CreatedAt,
    string CreatedBy,
    IReadOnlyList<ModelPriceDto> Prices)
{
    public static PricingVersionDto From(PricingVersion version) => new(
        version.Id,
        version.IsPlatform ? "platform" : "tenant",
        version.TenantId,
        version.EffectiveFrom,
        version.Description,
        version.CreatedAt,
        version.CreatedBy,
        version.Models.Values.OrderBy(p => p.Model, StringComparer.Ordinal).Select(ModelPriceDto.From).ToList());
}

internal static class Money
{
    /// <summary>Drops trailing zeros (numeric(30,12) reads back as 0.006180000000) so amounts print as they are.</summary>
    public static decimal Normalize(decimal value) => value / 1.000000000000000000000000000000000m;

    public static decimal? Normalize(decimal? value) => value is { } v ? Normalize(v) : null;
}
