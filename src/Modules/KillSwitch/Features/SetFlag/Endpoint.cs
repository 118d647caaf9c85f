using System.Text.Json;
using FastEndpoints;
using Microsoft.AspNetCore.Http;
using Ops.Modules.KillSwitch.Contracts;
using Ops.Modules.KillSwitch.Flags;
using Ops.Modules.Shared.Http;
using Ops.Modules.Shared.Security;

namespace Ops.Modules.KillSwitch.Features.SetFlag;

internal sealed class SetFlagRequest
{
    /// <summary>The flag key: killall, read_only, kill:user:{user_id}, kill:agent:{agent_id}, kill:model:{model}, or a feature name.</summary>
    public string Key { get; init; } = string.Empty;

    /// <summary>tenant (default) or platform (platform admins only; killall and read_only only).</summary>
    [QueryParam]
    public FlagScope Scope { get; init; } = FlagScope.Tenant;

    [FromBody]
    public SetFlagBody Body { get; init; } = new();
}

/// <summary>The body of PUT /v1/admin/flags/{key} (the key comes from the route).</summary>
internal sealed class SetFlagBody
{
    /// <summary>
    /// true (on) or false (off) for the built-in flags; for a feature, true, false, or a definition in Microsoft's
    /// feature flag schema: { enabled, conditions: { requirement_type, client_filters: [{ name, parameters }] },
    /// variants, allocation }.
    /// </summary>
    public JsonElement? Value { get; init; }

    /// <summary>Why (required). Shown to agents in the check's reason and kept in the history and the audit log.</summary>
    public string? Reason { get; init; }

    /// <summary>When the flag stops applying (optional; e.g. "block this user for 2 hours"). Must be in the future.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }
}

/// <summary>
/// Creates or replaces a flag. Recorded in the flag history and the audit log (before/after) in the same
/// transaction, and on every Api instance within a second.
/// </summary>
internal sealed class SetFlagEndpoint(FlagWriter writer, TimeProvider time) : Endpoint<SetFlagRequest, FlagResponse>
{
    public override void Configure()
    {
        Put("/v1/admin/flags/{key}");
        Roles(Ops.Modules.Shared.Security.Roles.Admin);
        Description(b => b.ClearDefaultAccepts().Accepts<SetFlagBody>("application/json"));
        Summary(s =>
        {
            s.Summary = "Set a flag (kill switch, read-only mode or feature flag)";
            s.Description = "The flag applies on every Api instance within a second. Every change is audited with before/after.";
            s.Responses[200] = "The flag was replaced.";
            s.Responses[201] = "The flag was created.";
            s.Responses[409] = "The tenant holds as many flags as it may.";
        });
    }

    public override async Task HandleAsync(SetFlagRequest req, CancellationToken ct)
    {
        var caller = HttpContext.GetCaller();
        if (req.Scope == FlagScope.Platform && !caller.IsPlatformAdmin)
        {
            await Send.ResultAsync(Problems.Forbidden("Only a platform admin may set platform-wide flags."));
            return;
        }

        FlagKey key;
        try
        {
            key = writer.Validate(req.Scope, req.Key, req.Body.Value, req.Body.Reason, req.Body.ExpiresAt);
        }
        catch (FlagValidationException ex)
        {
            await Send.ResultAsync(Problems.BadRequest(ex.Detail, ex.Field));
            return;
        }

        FlagChange change;
        try
        {
            change = await writer.SetAsync(
                ScopeIds.IdOf(req.Scope, caller.TenantId), key, req.Body.Value!.Value, req.Body.Reason!, req.Body.ExpiresAt, caller.Actor,
                OperatorAudit.Of(HttpContext),
                keep: null, connection: null, transaction: null, ct);
        }
        catch (FlagLimitException ex)
        {
            await Send.ResultAsync(Problems.Conflict(ex.Message, "key"));
            return;
        }

        await Send.ResponseAsync(FlagResponse.From(change.After!, time.GetUtcNow()), change.Before is null ? StatusCodes.Status201Created : StatusCodes.Status200OK, ct);
    }
}
