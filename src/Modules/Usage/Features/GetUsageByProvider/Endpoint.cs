using Ops.Modules.Usage.Reading;

namespace Ops.Modules.Usage.Features.GetUsageByProvider;

internal sealed record ProviderItem(string Provider, long Tokens, long TokensIn, long TokensOut, decimal CostUsd, long Requests);

internal sealed class GetUsageByProviderEndpoint(BreakdownReader reader, TimeProvider time) : UsageReadEndpoint<UsageQueryRequest, ItemsResponse<ProviderItem>>(time)
{
    public override void Configure() => Route("/v1/usage/by-provider", "Usage per provider", "Cost descending.");

    public override async Task HandleAsync(UsageQueryRequest req, CancellationToken ct)
    {
        var query = Resolve(req);
        var groups = await reader.GroupAsync(query, BreakdownReader.Dimension.Provider, null, ct);
        var items = groups.Select(g => new ProviderItem(g.Key, g.Tokens, g.TokensIn, g.TokensOut, g.Cost, g.Requests)).ToList();
        await Send.OkAsync(new ItemsResponse<ProviderItem>(PeriodDto.Of(query.Window), items), ct);
    }
}
