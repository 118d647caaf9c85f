using FastEndpoints;
using Microsoft.Extensions.Options;
using Ops.Modules.Audit.Settings;
using Ops.Modules.Shared.Security;

namespace Ops.Modules.Audit.Features.AuditSettings;

/// <summary>The tenant's audit settings: retention and what is redacted on top of the built-in detectors.</summary>
internal sealed class GetAuditSettingsEndpoint(AuditSettingsStore settings, IOptions<AuditOptions> options) : EndpointWithoutRequest<AuditSettingsResponse>
{
    public override void Configure()
    {
        Get("/v1/settings/audit");
        Roles(Ops.Modules.Shared.Security.Roles.Read);
        Summary(s => s.Summary = "Get the audit settings (retention, redaction)");
    }

    public override Task HandleAsync(CancellationToken ct) =>
        Send.OkAsync(AuditSettingsResponse.From(settings.Get(HttpContext.GetCaller().TenantId), options.Value), ct);
}
