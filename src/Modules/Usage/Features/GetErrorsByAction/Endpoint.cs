using FluentValidation.Results;
using Ops.Modules.Usage.Reading;

namespace Ops.Modules.Usage.Features.GetErrorsByAction;

internal sealed class GetErrorsByActionEndpoint(BreakdownReader reader, TimeProvider time) : UsageReadEndpoint<UsageQueryRequest, ItemsResponse<ActionErrors>>(time)
{
    public override void Configure() => Route(
        "/v1/usage/errors/by-action",
        "Errors per action",
        "Errors and critical errors per action, errors descending, from the hourly error rollup. With user_id or session_id (not kept "
        + "there) the period may be at most 48 hours (read from raw events).");

    public override async Task HandleAsync(UsageQueryRequest req, CancellationToken ct)
    {
        var query = Resolve(req);
        if (query.Filters.ByUserOrSession && !query.Window.IsShort)
        {
            AddError(new ValidationFailure(query.Filters.UserIds.Count > 0 ? "user_id" : "session_id", "errors by action filter by user or session over at most 48 hours."));
            ThrowIfAnyErrors();
        }

        var items = await reader.ErrorsByActionAsync(query, ct);
        await Send.OkAsync(new ItemsResponse<ActionErrors>(PeriodDto.Of(query.Window), items), ct);
    }
}
