using Ops.Modules.Usage.Reading;

namespace Ops.Modules.Usage.Features.GetUsageByChannel;

/// <param name="Channel">null for calls made without a channel.</param>
/// <param name="MessageCount">LLM calls made on the channel.</param>
internal sealed record ChannelItem(string? Channel, long MessageCount, long Tokens, decimal CostUsd);

internal sealed class GetUsageByChannelEndpoint(BreakdownReader reader, TimeProvider time) : UsageReadEndpoint<UsageQueryRequest, ItemsResponse<ChannelItem>>(time)
{
    public override void Configure() => Route("/v1/usage/by-channel", "Message volume per channel", "LLM calls, tokens and cost per channel, cost descending.");

    public override async Task HandleAsync(UsageQueryRequest req, CancellationToken ct)
    {
        var query = Resolve(req);
        var groups = await reader.GroupAsync(query, BreakdownReader.Dimension.Channel, null, ct);
        var items = groups.Select(g => new ChannelItem(g.Key.Length == 0 ? null : g.Key, g.Requests, g.Tokens, g.Cost)).ToList();
        await Send.OkAsync(new ItemsResponse<ChannelItem>(PeriodDto.Of(query.Window), items), ct);
    }
}
