using FastEndpoints;
using Ops.Modules.KillSwitch.Contracts;
using Ops.Modules.KillSwitch.Flags;
using Ops.Modules.Shared.Http;
using Ops.Modules.Shared.Security;

namespace Ops.Modules.KillSwitch.Features.ClearFlag;

internal sealed class ClearFlagRequest
{
    /// <summary>The flag key.</summary>
    public string Key { get; init; } = string.Empty;

    /// <summary>Why the flag is cleared (required); kept in the history and the audit log.</summary>
    [QueryParam]
    public string? Reason { get; init; }

    /// <summary>tenant (default) or platform (platform admins only).</summary>
    [QueryParam]
    public FlagScope Scope { get; init; } = FlagScope.Tenant;
}

internal sealed class ClearFlagEndpoint(FlagWriter writer) : Endpoint<ClearFlagRequest>
{
    public override void Configure()
    {
        Delete("/v1/admin/flags/{key}");
        Roles(Ops.Modules.Shared.Security.Roles.Admin);
        Summary(s =>
        {
            s.Summary = "Clear a flag";
            s.Description = "Audited with the flag as it was. Agents see the change within a second.";
            s.Responses[204] = "The flag is cleared.";
            s.Responses[404] = "No such flag.";
        });
    }

    public override async Task HandleAsync(ClearFlagRequest req, CancellationToken ct)
    {
        var caller = HttpContext.GetCaller();
        if (req.Scope == FlagScope.Platform && !caller.IsPlatformAdmin)
        {
            await Send.ResultAsync(Problems.Forbidden("Only a platform admin may clear platform-wide flags."));
            return;
        }

        if (!FlagKeys.TryParse(req.Key, out _, out var error))
        {
            await Send.ResultAsync(Problems.BadRequest(error, "key"));
            return;
        }

        FlagChange? change;
        try
        {
            change = await writer.ClearAsync(
                ScopeIds.IdOf(req.Scope, caller.TenantId), req.Key, req.Reason ?? string.Empty, caller.Actor,
                OperatorAudit.Of(HttpContext),
                ct);
        }
        catch (FlagValidationException ex)
        {
            await Send.ResultAsync(Problems.BadRequest(ex.Detail, ex.Field));
            return;
        }

        if (change is null)
        {
            await Send.ResultAsync(Problems.NotFound($"No flag '{req.Key}' is set."));
            return;
        }

        await Send.NoContentAsync(ct);
    }
}
