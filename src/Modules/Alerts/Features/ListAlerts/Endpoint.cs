using FastEndpoints;
using FluentValidation;
using Ops.Modules.Alerts.State;
using Ops.Modules.Shared.Security;

namespace Ops.Modules.Alerts.Features.ListAlerts;

internal sealed class ListAlertsRequest
{
    /// <summary>firing or resolved (default: both).</summary>
    [QueryParam]
    public string? State { get; init; }

    /// <summary>Only this rule's alerts (e.g. budget_exceeded).</summary>
    [QueryParam]
    public string? Rule { get; init; }

    /// <summary>The next_cursor of the previous page.</summary>
    [QueryParam]
    public long? Cursor { get; init; }

    /// <summary>1–200, default 50.</summary>
    [QueryParam]
    public int Limit { get; init; } = 50;
}

internal sealed class ListAlertsValidator : Validator<ListAlertsRequest>
{
    public ListAlertsValidator()
    {
        RuleFor(r => r.State).Must(s => s is null or "firing" or "resolved").WithMessage("must be firing or resolved.");
        RuleFor(r => r.Limit).InclusiveBetween(1, 200);
        RuleFor(r => r.Cursor).GreaterThan(0);
        RuleFor(r => r.Rule).MaximumLength(100);
    }
}

internal sealed record ListAlertsResponse(IReadOnlyList<AlertView> Items, long? NextCursor);

/// <summary>The fired log: every firing episode with its value, threshold, resolution and deliveries, newest first.</summary>
internal sealed class ListAlertsEndpoint(AlertReader reader) : Endpoint<ListAlertsRequest, ListAlertsResponse>
{
    public override void Configure()
    {
        Get("/v1/alerts");
        Roles(Ops.Modules.Shared.Security.Roles.Read);
        Summary(s => s.Summary = "List alerts (the fired log), newest first");
    }

    public override async Task HandleAsync(ListAlertsRequest req, CancellationToken ct)
    {
        var (items, next) = await reader.ListAsync(HttpContext.GetCaller().TenantId, req.State, req.Rule, req.Cursor, req.Limit, ct);
        await Send.OkAsync(new ListAlertsResponse(items, next), ct);
    }
}
