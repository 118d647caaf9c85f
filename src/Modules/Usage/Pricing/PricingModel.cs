namespace Ops.Modules.Usage.Pricing;

/// <summary>USD per 1M tokens. Cache rates are optional: cache tokens without a rate of their own cost the input rate.</summary>
internal sealed record TokenRates(decimal InputPerMTok, decimal OutputPerMTok, decimal? CacheReadPerMTok = null, decimal? CacheWritePerMTok = null);

/// <summary>Above <see cref="ThresholdTokens"/> input tokens the whole request is priced at <see cref="Rates"/> (how providers bill long context).</summary>
internal sealed record LongContextTier(int ThresholdTokens, TokenRates Rates);

internal sealed record ModelPrice(string Model, string Provider, TokenRates Rates, LongContextTier? LongContext = null);

/// <summary>
/// One immutable price table. <see cref="TenantId"/> is null for the platform catalog and a tenant's id for the
/// tenant's own (negotiated) prices, which take precedence for the models they list (ADR 0022).
/// </summary>
internal sealed record PricingVersion(
    string Id,
    string? TenantId,
    DateOnly EffectiveFrom,
    long Sequence,
    IReadOnlyDictionary<string, ModelPrice> Models,
    string? Description,
    DateTimeOffset CreatedAt,
    string CreatedBy)
{
    public bool IsPlatform => TenantId is null;
}

/// <summary>
/// A reprice: the tenant's events of the days in the range, of the named models (null: every model), are priced with
/// the version, from then on — as if it were the version in effect (models it does not list are unpriced).
/// </summary>
internal sealed record PricingAssignment(long Id, DateOnly FromDay, DateOnly ToDay, string VersionId, IReadOnlyList<string>? Models = null)
{
    public bool Covers(DateOnly day, string model) => day >= FromDay && day <= ToDay && (Models is null || Models.Contains(model, StringComparer.Ordinal));
}

/// <summary>
/// How one event's tokens are priced. <see cref="VersionId"/> is the version consulted (null when no version is in
/// effect on that day at all); <see cref="Price"/> is null when that version has no price for the model (unpriced).
/// </summary>
internal readonly record struct PriceResolution(string? VersionId, ModelPrice? Price)
{
    public bool IsPriced => Price is not null;
}

internal readonly record struct TokenUsage(long TokensIn, long TokensOut, long CacheReadTokens = 0, long CacheWriteTokens = 0);
