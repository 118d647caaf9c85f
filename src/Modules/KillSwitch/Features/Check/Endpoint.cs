using FastEndpoints;
using FluentValidation;
using Ops.Modules.KillSwitch.Contracts;
using Ops.Modules.KillSwitch.Flags;
using Ops.Modules.Shared.Security;

namespace Ops.Modules.KillSwitch.Features.Check;

internal sealed class CheckRequest
{
    /// <summary>The end user the agent is about to serve (checked against kill:user:{user_id}).</summary>
    public string? UserId { get; init; }

    /// <summary>The agent about to act (checked against kill:agent:{agent_id}).</summary>
    public string? AgentId { get; init; }

    /// <summary>The model about to be called (checked against kill:model:{model}).</summary>
    public string? Model { get; init; }
}

internal sealed class CheckValidator : Validator<CheckRequest>
{
    public CheckValidator()
    {
        RuleFor(r => r.UserId).MaximumLength(FlagKeys.MaxSubjectLength);
        RuleFor(r => r.AgentId).MaximumLength(FlagKeys.MaxSubjectLength);
        RuleFor(r => r.Model).MaximumLength(FlagKeys.MaxSubjectLength);
    }
}

/// <param name="Killed">True: do not make the call.</param>
/// <param name="Reason">Why, as the operator wrote it.</param>
/// <param name="Scope">Which flag applies: platform, tenant (killall), user, agent or model.</param>
/// <param name="Flag">The key of that flag.</param>
/// <param name="ExpiresAt">When that flag stops applying, if it has an expiry.</param>
/// <param name="RetryAfterS">When killed: seconds until it is worth asking again.</param>
/// <param name="ReadOnly">True: reads may go on, writes must not.</param>
/// <param name="Stale">True: this answer comes from the last flags the Api could load (database or change feed unreachable); it still applies.</param>
internal sealed record CheckResponse(
    bool Killed,
    string? Reason,
    KillScope? Scope,
    string? Flag,
    DateTimeOffset? ExpiresAt,
    int? RetryAfterS,
    bool ReadOnly,
    string? ReadOnlyReason,
    bool Stale,
    DateTimeOffset CheckedAt);

/// <summary>
/// The check agents call before each LLM call. Answered from memory (no database round trip); expiry is
/// evaluated at the moment of the check. Never blocked by the kill switch itself.
/// </summary>
internal sealed class CheckEndpoint(FlagCache cache, TimeProvider time) : Endpoint<CheckRequest, CheckResponse>
{
    public override void Configure()
    {
        Get("/v1/killswitch/check");
        Roles(Ops.Modules.Shared.Security.Roles.Ingest, Ops.Modules.Shared.Security.Roles.Read);
        Summary(s =>
        {
            s.Summary = "May this call go ahead? (kill switch and read-only mode)";
            s.Description = "Checks the platform and tenant killall, kill:user, kill:agent and kill:model flags and read_only. "
                + "Answered from memory; 'stale' says the Api could not refresh its flags (they still apply).";
        });
    }

    public override async Task HandleAsync(CheckRequest req, CancellationToken ct)
    {
        var verdict = cache.Check(HttpContext.GetCaller().TenantId, Empty(req.UserId), Empty(req.AgentId), Empty(req.Model));
        HttpContext.Response.Headers.CacheControl = "no-store";
        await Send.OkAsync(
            new CheckResponse(
                verdict.Killed, verdict.Reason, verdict.Scope, verdict.Flag, verdict.ExpiresAt, verdict.RetryAfterSeconds,
                verdict.ReadOnly, verdict.ReadOnlyReason, verdict.Stale, time.GetUtcNow()),
            ct);
    }

    private static string? Empty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
