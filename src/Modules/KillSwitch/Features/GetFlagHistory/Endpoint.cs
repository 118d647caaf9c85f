using FastEndpoints;
using FluentValidation;
using Ops.Modules.KillSwitch.Contracts;
using Ops.Modules.KillSwitch.Flags;
using Ops.Modules.Shared.Http;
using Ops.Modules.Shared.Security;

namespace Ops.Modules.KillSwitch.Features.GetFlagHistory;

internal sealed class GetFlagHistoryRequest
{
    /// <summary>The flag key (its history is kept after it is cleared).</summary>
    public string Key { get; init; } = string.Empty;

    /// <summary>tenant (default) or platform.</summary>
    [QueryParam]
    public FlagScope Scope { get; init; } = FlagScope.Tenant;

    /// <summary>At most this many entries (1–500, default 50), newest first.</summary>
    [QueryParam]
    public int Limit { get; init; } = 50;

    /// <summary>Only entries older than this change id: pass the previous page's next_before.</summary>
    [QueryParam]
    public long? Before { get; init; }
}

internal sealed class GetFlagHistoryValidator : Validator<GetFlagHistoryRequest>
{
    public GetFlagHistoryValidator()
    {
        RuleFor(r => r.Limit).InclusiveBetween(1, 500);
        RuleFor(r => r.Before).GreaterThan(0).When(r => r.Before is not null);
    }
}

/// <param name="NextBefore">Pass as before to get the next (older) page; null on the last page.</param>
internal sealed record GetFlagHistoryResponse(IReadOnlyList<FlagHistoryEntry> Items, long? NextBefore);

internal sealed class GetFlagHistoryEndpoint(FlagStore store) : Endpoint<GetFlagHistoryRequest, GetFlagHistoryResponse>
{
    public override void Configure()
    {
        Get("/v1/admin/flags/{key}/history");
        Roles(Ops.Modules.Shared.Security.Roles.Admin);
        Summary(s => s.Summary = "A flag's history: every set, clear and expiry with who, when, why, before and after");
    }

    public override async Task HandleAsync(GetFlagHistoryRequest req, CancellationToken ct)
    {
        if (!FlagKeys.TryParse(req.Key, out _, out var error))
        {
            await Send.ResultAsync(Problems.BadRequest(error, "key"));
            return;
        }

        var rows = await store.HistoryAsync(ScopeIds.IdOf(req.Scope, HttpContext.GetCaller().TenantId), req.Key, req.Before, req.Limit + 1, ct);
        var page = rows.Take(req.Limit).Select(FlagHistoryEntry.From).ToList();
        await Send.OkAsync(new GetFlagHistoryResponse(page, rows.Count > req.Limit ? page[^1].ChangeId : null), ct);
    }
}
