using System.Buffers;
using FastEndpoints;
using FluentValidation;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Npgsql;
using Ops.Modules.Audit.Contracts;
using Ops.Modules.Audit.Reading;
using Ops.Modules.Audit.Redaction;
using Ops.Modules.Audit.Settings;
using Ops.Modules.Shared.Security;

namespace Ops.Modules.Audit.Features.ExportEvents;

internal sealed class ExportEventsRequest : AuditEventFilter
{
    /// <summary><c>ndjson</c> (default: one JSON object per line) or <c>csv</c>.</summary>
    public string? Format { get; init; }
}

internal sealed class ExportEventsValidator : Validator<ExportEventsRequest>
{
    public ExportEventsValidator()
    {
        Include(new AuditEventFilterRules());
        RuleFor(r => r.Format).Must(f => f is null or "ndjson" or "csv").WithMessage("must be ndjson or csv.");
    }
}

/// <summary>
/// Streams the caller's tenant's events, oldest first, as NDJSON or CSV. Reads in keyset batches (short
/// queries, no long transaction holding partitions) and writes each batch as it arrives, so memory stays flat
/// for millions of events. The range is fixed when the export starts (to defaults to now plus the allowed clock
/// skew). Downloading is itself an audited operator action (<c>export.downloaded</c>).
/// </summary>
internal sealed class ExportEventsEndpoint(
    NpgsqlDataSource dataSource,
    IAuditWriter audit,
    AuditSettingsStore settings,
    Redactor redactor,
    IOptions<AuditOptions> options,
    TimeProvider time) : Endpoint<ExportEventsRequest>
{
    private const int FlushBytes = 64 * 1024;

    public override void Configure()
    {
        Get("/v1/audit/export");
        Roles(Ops.Modules.Shared.Security.Roles.Read);
        Description(b => b.Produces(200, typeof(string), "application/x-ndjson", "text/csv"));
        Summary(s =>
        {
            s.Summary = "Export audit events (NDJSON or CSV, streamed)";
            s.Description = "Oldest first. NDJSON lines are the same objects `GET /v1/audit/events` returns. CSV has the columns ts, " +
                            "action, user_id, request_id, status, actor, model, tokens_in, tokens_out, cost_usd, latency_ms and details " +
                            "(the other fields as JSON); cells that would start a spreadsheet formula are prefixed with an apostrophe.";
            s.Responses[200] = "The export, as an attachment.";
        });
    }

    public override async Task HandleAsync(ExportEventsRequest req, CancellationToken ct)
    {
        var caller = HttpContext.GetCaller();
        var now = time.GetUtcNow();
        var policy = redactor.PolicyFor(caller.TenantId);
        var query = AuditEventQuery.For(
            req, caller.TenantId, settings.RetentionCutoff(caller.TenantId, now), (column, value) => redactor.RedactIdentifier(column, value, policy), defaultTo: now + options.Value.MaxFutureSkew);
        IExportFormat format = req.Format == "csv" ? new CsvFormat() : new NdjsonFormat();

        // Recorded before the first byte goes out: an interrupted download is still a download.
        var filters = new
        {
            format = format.Extension,
            from = query.From,
            to = query.To,
            action = req.Action,
            user_id = req.UserId,
            request_id = req.RequestId,
            status = req.Status,
        };
        await audit.WriteAsync(OperatorAction.Create(HttpContext, "export.downloaded", now, "audit:events", after: filters), ct);

        var fileName = $"audit-{caller.TenantId}-{now:yyyyMMdd'T'HHmmss'Z'}.{format.Extension}";
        var batchSize = options.Value.ExportBatchSize;
        await Send.ResultAsync(Results.Stream(
            body => WriteAsync(body, query, format, batchSize, HttpContext.RequestAborted),
            format.ContentType,
            fileName));
    }

    private async Task WriteAsync(Stream body, AuditEventQuery query, IExportFormat format, int batchSize, CancellationToken ct)
    {
        var buffer = new ArrayBufferWriter<byte>(FlushBytes * 2);
        format.WriteHeader(buffer);
        EventKey? after = null;
        while (true)
        {
            List<AuditEventRow> rows;
            await using (var connection = await dataSource.OpenConnectionAsync(ct))
            {
                rows = await query.ReadAsync(connection, newestFirst: false, after, batchSize, ct);
            }

            foreach (var row in rows)
            {
                format.Write(row, buffer);
                if (buffer.WrittenCount >= FlushBytes)
                {
                    await body.WriteAsync(buffer.WrittenMemory, ct);
                    buffer.ResetWrittenCount();
                }
            }

            await body.WriteAsync(buffer.WrittenMemory, ct);
            buffer.ResetWrittenCount();
            await body.FlushAsync(ct);
            if (rows.Count < batchSize)
            {
                return;
            }

            after = rows[^1].Key;
        }
    }
}
