using System.Globalization;
using System.Text.RegularExpressions;
using FastEndpoints;
using FluentValidation;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Npgsql;
using Ops.Modules.Audit.Contracts;
using Ops.Modules.Shared.Http;
using Ops.Modules.Shared.Security;
using Ops.Modules.Usage.Pricing;

namespace Ops.Modules.Usage.Features.CreatePricingVersion;

internal sealed class CreatePricingVersionRequest
{
    /// <summary>The version's name; default: the effective date (yyyy-MM-dd). A tenant version's id is "&lt;tenant&gt;/&lt;name&gt;".</summary>
    public string? Version { get; init; }

    /// <summary>The first UTC day the version prices. Must be after the day in progress: history changes only by reprice.</summary>
    public DateOnly EffectiveFrom { get; init; }

    public string? Description { get; init; }

    /// <summary>
    /// Platform admins only: create the version in this tenant's own price list (negotiated prices) instead of the
    /// platform catalog. A tenant admin's versions always belong to its tenant.
    /// </summary>
    public string? TenantId { get; init; }

    /// <summary>One entry per model, USD per 1M tokens.</summary>
    public IReadOnlyList<ModelPriceDto> Prices { get; init; } = [];
}

internal sealed partial class CreatePricingVersionValidator : Validator<CreatePricingVersionRequest>
{
    private const decimal MaxRate = 1_000_000m;

    public CreatePricingVersionValidator()
    {
        RuleFor(r => r.Version).Matches(NameRegex()).When(r => r.Version is not null)
            .WithMessage("must be 1–64 characters: letters, digits, '.', '_' or '-', starting with a letter or digit.");
        RuleFor(r => r.EffectiveFrom).NotEmpty();
        RuleFor(r => r.Description).MaximumLength(500);
        RuleFor(r => r.Prices).NotEmpty().WithMessage("must list at least one model.");
        RuleFor(r => r.Prices).Must(p => p.Select(m => m.Model).Distinct(StringComparer.Ordinal).Count() == p.Count)
            .WithMessage("must list each model once.");
        RuleForEach(r => r.Prices).ChildRules(price =>
        {
            price.RuleFor(p => p.Model).NotEmpty().MaximumLength(200);
            price.RuleFor(p => p.Provider).NotEmpty().MaximumLength(200);
            price.RuleFor(p => p.InputPerMtok).Must(Rate).WithMessage(RateMessage);
            price.RuleFor(p => p.OutputPerMtok).Must(Rate).WithMessage(RateMessage);
            price.RuleFor(p => p.CacheReadPerMtok).Must(r => r is null || Rate(r.Value)).WithMessage(RateMessage);
            price.RuleFor(p => p.CacheWritePerMtok).Must(r => r is null || Rate(r.Value)).WithMessage(RateMessage);
            price.RuleFor(p => p.LongContext).ChildRules(tier =>
            {
                tier.RuleFor(t => t!.ThresholdTokens).GreaterThan(0);
                tier.RuleFor(t => t!.InputPerMtok).Must(Rate).WithMessage(RateMessage);
                tier.RuleFor(t => t!.OutputPerMtok).Must(Rate).WithMessage(RateMessage);
                tier.RuleFor(t => t!.CacheReadPerMtok).Must(r => r is null || Rate(r.Value)).WithMessage(RateMessage);
                tier.RuleFor(t => t!.CacheWritePerMtok).Must(r => r is null || Rate(r.Value)).WithMessage(RateMessage);
            }).When(p => p.LongContext is not null);
        });
    }

    private const string RateMessage = "must be a USD amount per 1M tokens ≥ 0 with at most 6 decimals.";

    /// <summary>At most 6 decimals keeps every cost exact at 12 decimals (tokens × rate / 1M).</summary>
    private static bool Rate(decimal rate) => rate >= 0 && rate < MaxRate && decimal.Round(rate, 6) == rate;

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    internal static partial Regex NameRegex();
}

/// <summary>Adds an immutable pricing version (platform catalog, or a tenant's own prices). Audited.</summary>
internal sealed class CreatePricingVersionEndpoint(NpgsqlDataSource dataSource, IAuditWriter audit, IOptions<UsageOptions> options, TimeProvider time)
    : Endpoint<CreatePricingVersionRequest, PricingVersionDto>
{
    public override void Configure()
    {
        Post("/v1/admin/pricing/versions");
        Roles(Ops.Modules.Shared.Security.Roles.Admin);
        Summary(s =>
        {
            s.Summary = "Add a pricing version (immutable)";
            s.Description = "A platform admin adds to the platform catalog (or, with `tenant_id`, to a tenant's own prices); a tenant admin "
                            + "adds its tenant's negotiated prices, which win over the catalog for the models they list. Versions take effect "
                            + "from a coming day; to change the past, reprice.";
            s.Responses[201] = "The version was added.";
            s.Responses[409] = "A version with this id exists.";
        });
    }

    public override async Task HandleAsync(CreatePricingVersionRequest req, CancellationToken ct)
    {
        var caller = HttpContext.GetCaller();
        if (req.TenantId is not null && req.TenantId != caller.TenantId && !caller.IsPlatformAdmin)
        {
            await Send.ResultAsync(Problems.Forbidden("A tenant admin manages its own tenant's prices only."));
            return;
        }

        // A platform admin writes the catalog unless it names a tenant; anyone else writes its own tenant's list.
        var owner = caller.IsPlatformAdmin ? req.TenantId : caller.TenantId;
        var now = time.GetUtcNow();
        // Events may be stamped up to the skew ahead: a version must not start on a day that may already have events.
        var lastDayInProgress = DateOnly.FromDateTime(now.AddSeconds(options.Value.MaxFutureSkewSeconds).UtcDateTime);
        if (req.EffectiveFrom <= lastDayInProgress)
        {
            ThrowError(r => r.EffectiveFrom, $"must be after {lastDayInProgress:yyyy-MM-dd}: versions never change days that may already have events; reprice those instead.");
        }

        var name = req.Version ?? req.EffectiveFrom.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var version = new PricingVersion(
            owner is null ? name : $"{owner}/{name}",
            owner,
            req.EffectiveFrom,
            0,
            req.Prices.Select(p => p.ToModelPrice()).ToDictionary(p => p.Model, StringComparer.Ordinal),
            req.Description,
            now,
            caller.Actor);

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        if (!await PricingStore.TryCreateAsync(connection, transaction, version, ct))
        {
            await Send.ResultAsync(Problems.Conflict($"Pricing version '{version.Id}' exists; versions are immutable. Choose another name.", "version"));
            return;
        }

        var created = PricingVersionDto.From(version);
        await audit.WriteAsync(OperatorAction.Create(HttpContext, "pricing.version_created", now, $"pricing:{version.Id}", after: created, tenantId: owner ?? caller.TenantId), connection, transaction, ct);
        await transaction.CommitAsync(ct);
        await Send.ResponseAsync(created, StatusCodes.Status201Created, ct);
    }
}
