using FastEndpoints;
using Ops.Modules.KillSwitch.Contracts;
using Ops.Modules.KillSwitch.Flags;
using Ops.Modules.Shared.Security;

namespace Ops.Modules.KillSwitch.Features.ListFlags;

internal sealed class ListFlagsRequest
{
    /// <summary>tenant (default): this tenant's flags; platform: the platform-wide killall / read_only.</summary>
    [QueryParam]
    public FlagScope Scope { get; init; } = FlagScope.Tenant;
}

internal sealed record ListFlagsResponse(IReadOnlyList<FlagResponse> Items);

/// <summary>Read from the database (the source of truth), not from the instance's cache.</summary>
internal sealed class ListFlagsEndpoint(FlagStore store, TimeProvider time) : Endpoint<ListFlagsRequest, ListFlagsResponse>
{
    public override void Configure()
    {
        Get("/v1/admin/flags");
        Roles(Ops.Modules.Shared.Security.Roles.Admin);
        Summary(s => s.Summary = "List flags (kill flags, read_only and feature flags)");
    }

    public override async Task HandleAsync(ListFlagsRequest req, CancellationToken ct)
    {
        var rows = await store.ListAsync(ScopeIds.IdOf(req.Scope, HttpContext.GetCaller().TenantId), ct);
        var now = time.GetUtcNow();
        await Send.OkAsync(new ListFlagsResponse([.. rows.Select(r => FlagResponse.From(r.ToState(), now))]), ct);
    }
}
