using FastEndpoints;
using Ops.Modules.Alerts.Evaluation;
using Ops.Modules.Alerts.State;
using Ops.Modules.Shared.Security;

namespace Ops.Modules.Alerts.Features.Evaluate;

internal sealed record EvaluateResponse(DateTimeOffset EvaluatedAt, IReadOnlyList<AlertView> Fired, IReadOnlyList<AlertView> Resolved);

/// <summary>Runs the tenant's evaluation now (as the 5-minute job does), with the same dedup and snoozes.</summary>
internal sealed class EvaluateEndpoint(AlertEvaluator evaluator, AlertReader reader) : EndpointWithoutRequest<EvaluateResponse>
{
    public override void Configure()
    {
        Post("/v1/alerts/evaluate");
        Roles(Ops.Modules.Shared.Security.Roles.Admin);
        Summary(s =>
        {
            s.Summary = "Evaluate the alert rules now";
            s.Description = "Returns the alerts that fired and resolved in this evaluation. Notifications follow the usual dedup window and snoozes.";
        });
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        var tenantId = HttpContext.GetCaller().TenantId;
        var result = await evaluator.EvaluateTenantAsync(tenantId, ct);
        var fired = await reader.GetAsync(tenantId, result.Fired.Select(a => a.Id).ToList(), ct);
        var resolved = await reader.GetAsync(tenantId, result.Resolved.Select(a => a.Id).ToList(), ct);
        await Send.OkAsync(new EvaluateResponse(result.EvaluatedAt, fired, resolved), ct);
    }
}
