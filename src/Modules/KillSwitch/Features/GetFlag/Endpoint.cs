using FastEndpoints;
using Ops.Modules.KillSwitch.Contracts;
using Ops.Modules.KillSwitch.Flags;
using Ops.Modules.Shared.Http;
using Ops.Modules.Shared.Security;

namespace Ops.Modules.KillSwitch.Features.GetFlag;

internal sealed class GetFlagRequest
{
    /// <summary>The flag key, e.g. killall, read_only, kill:user:u_1 (':' may be sent as is or URL-encoded as %3A).</summary>
    public string Key { get; init; } = string.Empty;

    /// <summary>tenant (default) or platform.</summary>
    [QueryParam]
    public FlagScope Scope { get; init; } = FlagScope.Tenant;
}

internal sealed class GetFlagEndpoint(FlagStore store, TimeProvider time) : Endpoint<GetFlagRequest, FlagResponse>
{
    public override void Configure()
    {
        Get("/v1/admin/flags/{key}");
        Roles(Ops.Modules.Shared.Security.Roles.Admin);
        Summary(s =>
        {
            s.Summary = "Get one flag";
            s.Responses[404] = "No such flag.";
        });
    }

    public override async Task HandleAsync(GetFlagRequest req, CancellationToken ct)
    {
        if (!FlagKeys.TryParse(req.Key, out _, out var error))
        {
            await Send.ResultAsync(Problems.BadRequest(error, "key"));
            return;
        }

        var row = await store.GetAsync(ScopeIds.IdOf(req.Scope, HttpContext.GetCaller().TenantId), req.Key, ct);
        if (row is null)
        {
            await Send.ResultAsync(Problems.NotFound($"No flag '{req.Key}' is set."));
            return;
        }

        await Send.OkAsync(FlagResponse.From(row.ToState(), time.GetUtcNow()), ct);
    }
}
