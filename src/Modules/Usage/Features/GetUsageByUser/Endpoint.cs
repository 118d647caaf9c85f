using Ops.Modules.Usage.Reading;

namespace Ops.Modules.Usage.Features.GetUsageByUser;

internal sealed record UserItem(string UserId, long Requests, long TokensIn, long TokensOut, long TotalTokens, decimal CostUsd, long Errors);

internal sealed class GetUsageByUserEndpoint(BreakdownReader reader, TimeProvider time) : UsageReadEndpoint<TopUsageQueryRequest, ItemsResponse<UserItem>>(time)
{
    public const int DefaultTop = 10;

    public override void Configure() => Route("/v1/usage/by-user", "Top users by cost", "The top users (default 10) of the period, cost descending.");

    public override async Task HandleAsync(TopUsageQueryRequest req, CancellationToken ct)
    {
        var query = Resolve(req);
        var groups = await reader.GroupAsync(query, BreakdownReader.Dimension.User, req.Top ?? DefaultTop, ct);
        var items = groups.Select(g => new UserItem(g.Key, g.Requests, g.TokensIn, g.TokensOut, g.Tokens, g.Cost, g.Errors)).ToList();
        await Send.OkAsync(new ItemsResponse<UserItem>(PeriodDto.Of(query.Window), items), ct);
    }
}
