using Ops.Modules.Usage.Reading;

namespace Ops.Modules.Usage.Features.GetModelMix;

/// <param name="RequestsPct">Share of the period's requests, 0–100, 2 decimals.</param>
/// <param name="CostPct">Share of the period's cost, 0–100, 2 decimals (0 when the period cost nothing).</param>
internal sealed record ModelMixItem(string Model, string Provider, long Requests, decimal RequestsPct, decimal CostUsd, decimal CostPct);

internal sealed class GetModelMixEndpoint(BreakdownReader reader, TimeProvider time) : UsageReadEndpoint<UsageQueryRequest, ItemsResponse<ModelMixItem>>(time)
{
    public override void Configure() => Route("/v1/usage/model-mix", "Share of requests and cost per model", "Cost descending.");

    public override async Task HandleAsync(UsageQueryRequest req, CancellationToken ct)
    {
        var query = Resolve(req);
        var groups = await reader.GroupAsync(query, BreakdownReader.Dimension.Model, null, ct);
        var requests = groups.Sum(g => g.Requests);
        var cost = groups.Sum(g => g.Cost);
        var items = groups.Select(g => new ModelMixItem(
            g.Key, g.Key2, g.Requests, Money.Percent(g.Requests, requests) ?? 0m, g.Cost, Money.Percent(g.Cost, cost) ?? 0m)).ToList();
        await Send.OkAsync(new ItemsResponse<ModelMixItem>(PeriodDto.Of(query.Window), items), ct);
    }
}
