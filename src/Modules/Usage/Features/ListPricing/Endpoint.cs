using FastEndpoints;
using Npgsql;
using Ops.Modules.Shared.Security;
using Ops.Modules.Usage.Pricing;

namespace Ops.Modules.Usage.Features.ListPricing;

/// <summary>A reprice: from then on the version prices those days (of <paramref name="Models"/>, or every model), for this tenant.</summary>
internal sealed record RepriceDto(
    long Id,
    DateOnly From,
    DateOnly To,
    string Version,
    IReadOnlyList<string>? Models,
    DateTimeOffset RepricedAt,
    string RepricedBy,
    string? Reason,
    long Events,
    decimal CostBeforeUsd,
    decimal CostAfterUsd);

/// <param name="Versions">The platform catalog and the tenant's own versions, by effective date.</param>
/// <param name="Reprices">The tenant's repricing history, oldest first.</param>
internal sealed record ListPricingResponse(IReadOnlyList<PricingVersionDto> Versions, IReadOnlyList<RepriceDto> Reprices);

internal sealed class ListPricingEndpoint(PricingCatalog catalog, NpgsqlDataSource dataSource) : EndpointWithoutRequest<ListPricingResponse>
{
    public override void Configure()
    {
        Get("/v1/pricing");
        Roles(Ops.Modules.Shared.Security.Roles.Read);
        Summary(s =>
        {
            s.Summary = "List pricing versions (USD per 1M tokens) and reprices";
            s.Description = "The platform catalog plus the caller's tenant's own versions (which win for the models they list), "
                            + "and the tenant's repricing history.";
        });
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        var tenantId = HttpContext.GetCaller().TenantId;
        var snapshot = await catalog.GetCurrentAsync(ct);
        var versions = snapshot.Platform.Concat(snapshot.TenantVersions(tenantId))
            .OrderBy(v => v.EffectiveFrom).ThenBy(v => v.Sequence)
            .Select(PricingVersionDto.From)
            .ToList();
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var reprices = (await PricingStore.ListAssignmentsAsync(connection, tenantId, ct))
            .Select(a => new RepriceDto(a.Id, a.FromDay, a.ToDay, a.Version, a.Models, a.AssignedAt, a.AssignedBy, a.Reason, a.Events, Money.Normalize(a.CostBeforeUsd), Money.Normalize(a.CostAfterUsd)))
            .ToList();
        await Send.OkAsync(new ListPricingResponse(versions, reprices), ct);
    }
}
