using FastEndpoints;
using Ops.Modules.Shared.Security;

namespace Ops.Api.Identity.Features.WhoAmI;

internal sealed record WhoAmIResponse(Guid KeyId, string KeyName, string TenantId, IReadOnlyList<string> Roles, bool PlatformAdmin);

/// <summary>What the presented key may do: the dashboard signs in with it and shows operator controls only to admins.</summary>
internal sealed class WhoAmIEndpoint : EndpointWithoutRequest<WhoAmIResponse>
{
    public override void Configure()
    {
        Get("/v1/me");
        Roles(Ops.Modules.Shared.Security.Roles.Ingest, Ops.Modules.Shared.Security.Roles.Read, Ops.Modules.Shared.Security.Roles.Admin);
        Summary(s => s.Summary = "Describe the calling API key (tenant, roles)");
    }

    public override Task HandleAsync(CancellationToken ct)
    {
        var caller = HttpContext.GetCaller();
        var roles = caller.Roles.Where(r => r != Ops.Modules.Shared.Security.Roles.Platform).Order(StringComparer.Ordinal).ToList();
        return Send.OkAsync(new WhoAmIResponse(caller.KeyId, caller.KeyName, caller.TenantId, roles, caller.IsPlatformAdmin), ct);
    }
}
