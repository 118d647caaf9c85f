using FastEndpoints;
using FluentValidation.Results;
using FluentValidation;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Npgsql;
using Ops.Modules.Alerts.Rules;
using Ops.Modules.Alerts.State;
using Ops.Modules.Audit.Contracts;
using Ops.Modules.Shared.Http;
using Ops.Modules.Shared.Security;

namespace Ops.Modules.Alerts.Features.Snoozes;

/// <param name="NeedsFollowUp">Older than the follow-up period (default 7 days) with no follow-up note: the weekly check.</param>
internal sealed record SnoozeResponse(string Key, DateTimeOffset Until, string Reason, string SnoozedBy, DateTimeOffset SnoozedAt, string? FollowUpNote, bool NeedsFollowUp)
{
    public static SnoozeResponse From(Snooze s, DateTimeOffset now, AlertsOptions options) =>
        new(s.Key, s.Until, s.Reason, s.SnoozedBy, s.SnoozedAt, s.FollowUpNote,
            s.FollowUpNote is null && now - s.SnoozedAt > TimeSpan.FromDays(options.SnoozeFollowUpDays));
}

internal sealed record ListSnoozesResponse(IReadOnlyList<SnoozeResponse> Items);

internal static class SnoozeKeys
{
    public const string Rule = "a rule key (snoozes all its entities) or an alert key such as budget_exceeded:agent:support-bot.";

    public static string? Check(string key) => RuleCatalog.IsSnoozableKey(key) ? null : $"must be {Rule}";
}

internal sealed class SnoozeRequest
{
    /// <summary>A rule key (all its entities) or an alert key (one entity).</summary>
    public string Key { get; init; } = string.Empty;

    [FromBody]
    public SnoozeBody Body { get; init; } = new();
}

/// <summary>The body of POST /v1/alerts/{key}/snooze: <c>hours</c> or <c>until</c>, and <c>reason</c>.</summary>
internal sealed class SnoozeBody
{
    /// <summary>How long, from now (0.25–720 hours).</summary>
    public decimal? Hours { get; init; }

    /// <summary>Until when (in the future, at most 30 days ahead).</summary>
    public DateTimeOffset? Until { get; init; }

    /// <summary>Why (required): what is being investigated.</summary>
    public string? Reason { get; init; }
}

internal sealed class SnoozeBodyValidator : Validator<SnoozeRequest>
{
    public const int MaxHours = 720;

    public SnoozeBodyValidator()
    {
        RuleFor(r => r.Key).Must(k => SnoozeKeys.Check(k) is null).WithMessage($"must be {SnoozeKeys.Rule}").OverridePropertyName("key");
        RuleFor(r => r.Body.Reason).NotEmpty().MaximumLength(1000).OverridePropertyName("reason");
        RuleFor(r => r.Body).Must(b => b.Hours is null != b.Until is null).WithMessage("give either hours or until.").OverridePropertyName("hours");
        RuleFor(r => r.Body.Hours).InclusiveBetween(0.25m, MaxHours).When(r => r.Body.Hours is not null).OverridePropertyName("hours");
    }
}

/// <summary>Snoozes a key: it is still evaluated and recorded, but not notified, until the snooze ends. Audited.</summary>
internal sealed class SnoozeEndpoint(NpgsqlDataSource dataSource, IAuditWriter audit, IOptions<AlertsOptions> options, TimeProvider time) : Endpoint<SnoozeRequest, SnoozeResponse>
{
    public override void Configure()
    {
        Post("/v1/alerts/{key}/snooze");
        Roles(Ops.Modules.Shared.Security.Roles.Admin);
        Description(b => b.ClearDefaultAccepts().Accepts<SnoozeBody>("application/json"));
        Summary(s =>
        {
            s.Summary = "Snooze an alert key (or a whole rule) while it is investigated";
            s.Description = "Replaces an existing snooze of the key. Audited as alert.snoozed.";
        });
    }

    public override async Task HandleAsync(SnoozeRequest req, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var body = req.Body;
        var until = body.Until ?? now + TimeSpan.FromHours((double)body.Hours!.Value);
        if (until <= now)
        {
            AddError(new ValidationFailure("until", "must be in the future."));
        }
        else if (until > now.AddHours(SnoozeBodyValidator.MaxHours))
        {
            AddError(new ValidationFailure("until", $"must be at most {SnoozeBodyValidator.MaxHours / 24} days ahead."));
        }

        ThrowIfAnyErrors();
        var caller = HttpContext.GetCaller();
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var before = await SnoozeStore.GetActiveForUpdateAsync(caller.TenantId, req.Key, now, connection, transaction, ct);
        var after = new Snooze(req.Key, until.ToUniversalTime(), body.Reason!, caller.Actor, now, null, null);
        await SnoozeStore.SaveAsync(caller.TenantId, after, connection, transaction, ct);
        await audit.WriteAsync(OperatorAction.Create(HttpContext, "alert.snoozed", now, $"alert:{req.Key}", before, after, body.Reason), connection, transaction, ct);
        await transaction.CommitAsync(ct);
        await Send.OkAsync(SnoozeResponse.From(after, now, options.Value), ct);
    }
}

internal sealed class UnsnoozeRequest
{
    public string Key { get; init; } = string.Empty;

    /// <summary>Why the snooze ends early (optional; kept in the audit log).</summary>
    [QueryParam]
    public string? Reason { get; init; }
}

/// <summary>Ends a snooze now. Audited (<c>alert.unsnoozed</c>).</summary>
internal sealed class UnsnoozeEndpoint(NpgsqlDataSource dataSource, IAuditWriter audit, TimeProvider time) : Endpoint<UnsnoozeRequest>
{
    public override void Configure()
    {
        Delete("/v1/alerts/{key}/snooze");
        Roles(Ops.Modules.Shared.Security.Roles.Admin);
        Summary(s =>
        {
            s.Summary = "End a snooze";
            s.Responses[204] = "The snooze ended.";
            s.Responses[404] = "The key is not snoozed.";
        });
    }

    public override async Task HandleAsync(UnsnoozeRequest req, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var tenantId = HttpContext.GetCaller().TenantId;
        var ended = await SnoozeStore.ChangeActiveAsync(dataSource, tenantId, req.Key, now, async (before, connection, transaction) =>
        {
            await SnoozeStore.DeleteAsync(tenantId, req.Key, connection, transaction, ct);
            await audit.WriteAsync(OperatorAction.Create(HttpContext, "alert.unsnoozed", now, $"alert:{req.Key}", before, null, req.Reason), connection, transaction, ct);
        }, ct);
        await (ended ? Send.NoContentAsync(ct) : Send.ResultAsync(Problems.NotFound($"'{req.Key}' is not snoozed.")));
    }
}

/// <summary>The snoozes in force, each flagged when it is older than the follow-up period without a follow-up note.</summary>
internal sealed class ListSnoozesEndpoint(NpgsqlDataSource dataSource, IOptions<AlertsOptions> options, TimeProvider time) : EndpointWithoutRequest<ListSnoozesResponse>
{
    public override void Configure()
    {
        Get("/v1/alerts/snoozes");
        Roles(Ops.Modules.Shared.Security.Roles.Read);
        Summary(s => s.Summary = "List the snoozes in force (needs_follow_up: older than 7 days with no follow-up note)");
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var snoozes = await SnoozeStore.ListActiveAsync(dataSource, HttpContext.GetCaller().TenantId, now, ct);
        await Send.OkAsync(new ListSnoozesResponse([.. snoozes.Select(s => SnoozeResponse.From(s, now, options.Value))]), ct);
    }
}

internal sealed class NoteRequest
{
    public string Key { get; init; } = string.Empty;

    [FromBody]
    public NoteBody Body { get; init; } = new();
}

/// <summary>The body of POST /v1/alerts/{key}/snooze/note.</summary>
internal sealed class NoteBody
{
    /// <summary>What the investigation found so far (required).</summary>
    public string? Note { get; init; }
}

internal sealed class NoteValidator : Validator<NoteRequest>
{
    public NoteValidator() => RuleFor(r => r.Body.Note).NotEmpty().MaximumLength(2000).OverridePropertyName("note");
}

/// <summary>Records the follow-up note of a snooze (clears <c>needs_follow_up</c>). Audited (<c>alert.snooze_noted</c>).</summary>
internal sealed class NoteEndpoint(NpgsqlDataSource dataSource, IAuditWriter audit, IOptions<AlertsOptions> options, TimeProvider time) : Endpoint<NoteRequest, SnoozeResponse>
{
    public override void Configure()
    {
        Post("/v1/alerts/{key}/snooze/note");
        Roles(Ops.Modules.Shared.Security.Roles.Admin);
        Description(b => b.ClearDefaultAccepts().Accepts<NoteBody>("application/json"));
        Summary(s =>
        {
            s.Summary = "Record a snooze's follow-up note";
            s.Responses[404] = "The key is not snoozed.";
        });
    }

    public override async Task HandleAsync(NoteRequest req, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var tenantId = HttpContext.GetCaller().TenantId;
        Snooze? noted = null;
        await SnoozeStore.ChangeActiveAsync(dataSource, tenantId, req.Key, now, async (before, connection, transaction) =>
        {
            noted = before with { FollowUpNote = req.Body.Note, NotedAt = now };
            await SnoozeStore.SaveAsync(tenantId, noted, connection, transaction, ct);
            await audit.WriteAsync(OperatorAction.Create(HttpContext, "alert.snooze_noted", now, $"alert:{req.Key}", before, noted), connection, transaction, ct);
        }, ct);
        await (noted is null ? Send.ResultAsync(Problems.NotFound($"'{req.Key}' is not snoozed.")) : Send.OkAsync(SnoozeResponse.From(noted, now, options.Value), ct));
    }
}
