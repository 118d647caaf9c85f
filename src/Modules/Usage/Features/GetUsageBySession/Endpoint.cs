using Ops.Modules.Usage.Reading;

namespace Ops.Modules.Usage.Features.GetUsageBySession;

internal sealed record SessionItem(
    string SessionId, long Requests, long TokensIn, long TokensOut, long TotalTokens, decimal CostUsd, long Errors, DateTimeOffset? FirstSeen, DateTimeOffset? LastSeen);

internal sealed class GetUsageBySessionEndpoint(BreakdownReader reader, TimeProvider time) : UsageReadEndpoint<TopUsageQueryRequest, ItemsResponse<SessionItem>>(time)
{
    public const int DefaultTop = 100;

    public override void Configure() => Route(
        "/v1/usage/by-session",
        "Top sessions by cost",
        "The top sessions (default 100) of the period, cost descending, from activity_daily (whole days) and raw events (edge hours). "
        + "Calls without a session are left out.");

    public override async Task HandleAsync(TopUsageQueryRequest req, CancellationToken ct)
    {
        var query = Resolve(req);
        var groups = await reader.GroupAsync(query, BreakdownReader.Dimension.Session, req.Top ?? DefaultTop, ct);
        var items = groups.Select(g => new SessionItem(g.Key, g.Requests, g.TokensIn, g.TokensOut, g.Tokens, g.Cost, g.Errors, g.FirstTs, g.LastTs)).ToList();
        await Send.OkAsync(new ItemsResponse<SessionItem>(PeriodDto.Of(query.Window), items), ct);
    }
}
