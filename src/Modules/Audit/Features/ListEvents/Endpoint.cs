using FastEndpoints;
using FluentValidation;
using Microsoft.Extensions.Options;
using Npgsql;
using Ops.Modules.Audit.Reading;
using Ops.Modules.Audit.Redaction;
using Ops.Modules.Audit.Settings;
using Ops.Modules.Shared.Security;

namespace Ops.Modules.Audit.Features.ListEvents;

internal sealed class ListEventsRequest : AuditEventFilter
{
    /// <summary>The <c>next_cursor</c> of the previous page; the other filters must be the same.</summary>
    public string? Cursor { get; init; }

    /// <summary>Events per page (default 100, at most 1000 unless configured otherwise).</summary>
    public int? Limit { get; init; }
}

internal sealed record ListEventsResponse(IReadOnlyList<AuditEventView> Items, string? NextCursor);

internal sealed class ListEventsValidator : Validator<ListEventsRequest>
{
    public ListEventsValidator()
    {
        Include(new AuditEventFilterRules());
        RuleFor(r => r.Limit).GreaterThan(0);
    }
}

/// <summary>
/// The caller's tenant's events, newest first, in pages. Keyset pagination on (ts, event_id): a page never
/// repeats or skips an event because others were written meanwhile.
/// </summary>
internal sealed class ListEventsEndpoint(NpgsqlDataSource dataSource, AuditSettingsStore settings, Redactor redactor, IOptions<AuditOptions> options, TimeProvider time)
    : Endpoint<ListEventsRequest, ListEventsResponse>
{
    public override void Configure()
    {
        Get("/v1/audit/events");
        Roles(Ops.Modules.Shared.Security.Roles.Read);
        Summary(s =>
        {
            s.Summary = "List audit events, newest first";
            s.Description = "Each item is the event's JSON line: ts, user_id, request_id, action, status, actor, then every other " +
                            "field. Pass `next_cursor` as `cursor` (with the same filters) for the next page; it is null on the last page.";
        });
    }

    public override async Task HandleAsync(ListEventsRequest req, CancellationToken ct)
    {
        var caller = HttpContext.GetCaller();
        var limit = req.Limit ?? options.Value.DefaultPageSize;
        if (limit > options.Value.MaxPageSize)
        {
            ThrowError(r => r.Limit, $"must be at most {options.Value.MaxPageSize}.");
        }

        var fingerprint = AuditEventQuery.Fingerprint(req, caller.TenantId);
        EventKey? after = null;
        if (req.Cursor is not null)
        {
            if (!PageCursor.TryDecode(req.Cursor, fingerprint, out var key, out var error))
            {
                ThrowError(r => r.Cursor, error!);
            }

            after = key;
        }

        var policy = redactor.PolicyFor(caller.TenantId);
        var query = AuditEventQuery.For(req, caller.TenantId, settings.RetentionCutoff(caller.TenantId, time.GetUtcNow()), (column, value) => redactor.RedactIdentifier(column, value, policy));
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var rows = await query.ReadAsync(connection, newestFirst: true, after, limit + 1, ct);
        string? next = null;
        if (rows.Count > limit)
        {
            rows.RemoveAt(limit);
            next = PageCursor.Encode(rows[^1].Key, fingerprint);
        }

        await Send.OkAsync(new ListEventsResponse(rows.Select(r => r.ToView()).ToList(), next), ct);
    }
}
