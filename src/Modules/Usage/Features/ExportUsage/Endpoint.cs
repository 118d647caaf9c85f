using System.Buffers;
using Dapper;
using FastEndpoints;
using FluentValidation;
using Microsoft.AspNetCore.Http;
using Npgsql;
using Ops.Modules.Audit.Contracts;
using Ops.Modules.Usage.Reading;

namespace Ops.Modules.Usage.Features.ExportUsage;

internal sealed class ExportUsageRequest : UsageFilterRequest
{
    /// <summary>csv (default), json (one array) or ndjson (one object per line).</summary>
    [QueryParam]
    public string? Format { get; init; }

    /// <summary>
    /// daily (default: per UTC day, user, model and provider, for the days the period touches), by_model (the period's totals
    /// per model) or events (every raw event of the period, oldest first; within raw retention).
    /// </summary>
    [QueryParam]
    public string? Level { get; init; }
}

internal sealed class ExportUsageValidator : Validator<ExportUsageRequest>
{
    public ExportUsageValidator()
    {
        Include(new UsageFilterRules());
        RuleFor(r => r.Format).Must(f => f is null or "csv" or "json" or "ndjson").WithMessage("must be csv, json or ndjson.");
        RuleFor(r => r.Level).Must(l => l is null or "events" or "daily" or "by_model").WithMessage("must be events, daily or by_model.");
    }
}

/// <summary>
/// Streams usage as a file: one query whose rows are written as they are read (64 KB at a time), so memory stays flat
/// for millions of rows. Downloading is an audited operator action (<c>export.downloaded</c>).
/// </summary>
internal sealed class ExportUsageEndpoint(NpgsqlDataSource dataSource, IAuditWriter audit, TimeProvider time)
    : UsageReadEndpoint<ExportUsageRequest, object>(time)
{
    private const int FlushBytes = 64 * 1024;

    public override void Configure()
    {
        Route(
            "/v1/usage/export",
            "Export usage (CSV, JSON or NDJSON, streamed)",
            "level=daily (default): per UTC day, user, model and provider for the days the period touches; by_model: the period's totals per "
            + "model; events: the raw events of the period (within raw retention), oldest first. CSV text cells that would start a "
            + "spreadsheet formula (= + - @) are prefixed with an apostrophe.");
        Description(b => b.Produces(200, typeof(string), "text/csv", "application/json", "application/x-ndjson"));
    }

    public override async Task HandleAsync(ExportUsageRequest req, CancellationToken ct)
    {
        var query = Resolve(req);
        var level = req.Level ?? "daily";
        var format = RowFormat.For(req.Format ?? "csv");
        var now = Clock.GetUtcNow();
        var w = query.Window;
        await audit.WriteAsync(
            OperatorAction.Create(HttpContext, "export.downloaded", now, $"usage:{level}",
                after: new { format = format.Extension, level, period = w.Name, from = w.From, to = w.To }),
            ct);

        var fileName = $"usage-{query.TenantId}-{level}-{now:yyyyMMdd'T'HHmmss'Z'}.{format.Extension}";
        await Send.ResultAsync(Results.Stream(body => WriteAsync(body, query, level, format, HttpContext.RequestAborted), format.ContentType, fileName));
    }

    private async Task WriteAsync(Stream body, UsageQuery query, string level, RowFormat format, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var reader = await connection.ExecuteReaderAsync(new CommandDefinition(ExportSql(query, level), query.Parameters(), commandTimeout: 0, cancellationToken: ct));
        var buffer = new ArrayBufferWriter<byte>(FlushBytes * 2);
        format.Begin(Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToList(), buffer);
        while (await reader.ReadAsync(ct))
        {
            format.Row(reader, buffer);
            if (buffer.WrittenCount >= FlushBytes)
            {
                await body.WriteAsync(buffer.WrittenMemory, ct);
                buffer.ResetWrittenCount();
            }
        }

        format.End(buffer);
        await body.WriteAsync(buffer.WrittenMemory, ct);
        await body.FlushAsync(ct);
    }

    private static string ExportSql(UsageQuery q, string level) => level switch
    {
        "events" => $"""
            SELECT ts, request_id, user_id, session_id, agent_id, channel, model, provider, action, tokens_in, tokens_out, cache_read_tokens,
                   cache_write_tokens, latency_ms, ttft_ms, CASE WHEN is_error THEN 'error' ELSE 'ok' END AS status, error_type, severity, cost_usd,
                   reported_cost_usd, pricing_version, unpriced, feedback
            FROM usage.events WHERE tenant_id = @tenant AND ts >= @from AND ts < @to{q.DimensionFilters("")}{q.UserFilters("")}
            ORDER BY ts, request_id
            """,
        "by_model" => $"""
            WITH f AS ({q.FactsSql()})
            SELECT model, provider, sum(requests)::bigint AS requests, sum(tokens_in)::bigint AS tokens_in, sum(tokens_out)::bigint AS tokens_out,
                   sum(cost_usd) AS cost_usd, sum(errors)::bigint AS errors
            FROM f GROUP BY model, provider ORDER BY sum(cost_usd) DESC, model, provider
            """,
        _ => $"""
            SELECT day::text AS day, user_id, model, provider, sum(requests)::bigint AS requests, sum(tokens_in)::bigint AS tokens_in,
                   sum(tokens_out)::bigint AS tokens_out, sum(cost_usd) AS cost_usd, sum(errors)::bigint AS errors,
                   sum(unpriced_requests)::bigint AS unpriced_requests
            FROM usage.activity_daily
            WHERE tenant_id = @tenant AND day >= @first_day AND day <= @last_day{q.DimensionFilters("")}{q.UserFilters("")}
            GROUP BY day, user_id, model, provider ORDER BY day, user_id, model, provider
            """,
    };
}
