using FastEndpoints;
using FluentValidation;
using Npgsql;
using Ops.Modules.Shared.Security;
using Ops.Modules.Usage.Pricing;

namespace Ops.Modules.Usage.Features.QuotePrice;

internal sealed class QuotePriceRequest
{
    /// <summary>The model, e.g. claude-opus-4-7.</summary>
    public string Model { get; init; } = string.Empty;

    /// <summary>Input tokens (cache tokens included).</summary>
    public int TokensIn { get; init; }

    /// <summary>Output tokens.</summary>
    public int TokensOut { get; init; }

    /// <summary>Of tokens_in, read from the prompt cache.</summary>
    public int CacheReadTokens { get; init; }

    /// <summary>Of tokens_in, written to the prompt cache.</summary>
    public int CacheWriteTokens { get; init; }

    /// <summary>The UTC day to price on (yyyy-MM-dd); default today. The version in effect that day is used, as for an event.</summary>
    public DateOnly? Date { get; init; }

    /// <summary>Price with this version instead of the one in effect (as a reprice would).</summary>
    public string? Version { get; init; }
}

internal sealed class QuotePriceValidator : Validator<QuotePriceRequest>
{
    public QuotePriceValidator()
    {
        RuleFor(r => r.Model).NotEmpty().MaximumLength(200);
        RuleFor(r => r.TokensIn).GreaterThanOrEqualTo(0);
        RuleFor(r => r.TokensOut).GreaterThanOrEqualTo(0);
        RuleFor(r => r.CacheReadTokens).GreaterThanOrEqualTo(0).LessThanOrEqualTo(r => r.TokensIn).WithMessage("must be between 0 and tokens_in.");
        RuleFor(r => r.CacheWriteTokens).GreaterThanOrEqualTo(0)
            .Must((r, write) => (long)write + r.CacheReadTokens <= r.TokensIn).WithMessage("cache_read_tokens + cache_write_tokens must not exceed tokens_in.");
    }
}

/// <param name="Version">The pricing version that priced it (null when no version is in effect on that day).</param>
/// <param name="Priced">False when that version has no price for the model: an event would be stored unpriced at cost 0.</param>
/// <param name="Tier">standard, or long_context when tokens_in is above the model's long-context threshold.</param>
internal sealed record QuotePriceResponse(
    string Model,
    string? Provider,
    DateOnly Date,
    string? Version,
    bool Priced,
    string? Tier,
    decimal CostUsd,
    ModelPriceDto? Price);

internal sealed class QuotePriceEndpoint(PricingCatalog catalog, NpgsqlDataSource dataSource, TimeProvider time) : Endpoint<QuotePriceRequest, QuotePriceResponse>
{
    public override void Configure()
    {
        Get("/v1/pricing/quote");
        Roles(Ops.Modules.Shared.Security.Roles.Read);
        Summary(s =>
        {
            s.Summary = "Price a call: cost in USD and the pricing version used";
            s.Description = "Resolves the price exactly as ingestion would for an event of this tenant on `date`.";
        });
    }

    public override async Task HandleAsync(QuotePriceRequest req, CancellationToken ct)
    {
        var tenantId = HttpContext.GetCaller().TenantId;
        var day = req.Date ?? DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        var snapshot = await catalog.GetCurrentAsync(ct);
        PriceResolution resolution;
        if (req.Version is not null)
        {
            var version = snapshot.Find(req.Version, tenantId);
            if (version is null)
            {
                ThrowError(r => r.Version!, $"no pricing version '{req.Version}' exists for this tenant.");
            }

            resolution = PricingSnapshot.ResolveIn(version, req.Model);
        }
        else
        {
            var assignments = await PricingStore.LoadAssignmentsAsync(dataSource, tenantId, day, ct);
            resolution = snapshot.Resolve(tenantId, day, req.Model, assignments);
        }

        var usage = new TokenUsage(req.TokensIn, req.TokensOut, req.CacheReadTokens, req.CacheWriteTokens);
        var price = resolution.Price;
        await Send.OkAsync(
            new QuotePriceResponse(
                req.Model,
                price?.Provider ?? snapshot.ProviderOf(tenantId, req.Model),
                day,
                resolution.VersionId,
                resolution.IsPriced,
                price is null ? null : price.LongContext is { } tier && req.TokensIn > tier.ThresholdTokens ? "long_context" : "standard",
                price is null ? 0m : Money.Normalize(PriceCalculator.Cost(price, usage)),
                price is null ? null : ModelPriceDto.From(price)),
            ct);
    }
}
