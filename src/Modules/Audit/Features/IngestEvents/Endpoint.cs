using System.Text.Json.Serialization;
using FastEndpoints;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Npgsql;
using Ops.Modules.Audit.Redaction;
using Ops.Modules.Audit.Settings;
using Ops.Modules.Audit.Writing;
using Ops.Modules.Shared.Ingestion;
using Ops.Modules.Shared.Security;

namespace Ops.Modules.Audit.Features.IngestEvents;

/// <summary>What was stored, what was a duplicate of a stored event, and why each rejected event was rejected.</summary>
internal sealed record IngestEventsResponse(int Accepted, int Duplicates, int Rejected, IReadOnlyList<int> DuplicateIndexes, IReadOnlyList<IngestError> Errors);

/// <summary>The shape of one event in the body (documentation: the endpoint reads the raw body).</summary>
internal sealed class AuditEventInput
{
    /// <summary>RFC 3339 with a zone; defaults to the time of receipt.</summary>
    public DateTimeOffset? Ts { get; init; }

    public required string UserId { get; init; }

    /// <summary>With action, the idempotency key: a retry is stored once.</summary>
    public required string RequestId { get; init; }

    public required string Action { get; init; }

    public string? Status { get; init; }

    public string? Model { get; init; }

    public long? TokensIn { get; init; }

    public long? TokensOut { get; init; }

    public decimal? CostUsd { get; init; }

    public decimal? LatencyMs { get; init; }

    /// <summary>Any further fields are kept as JSON (redacted, size-capped).</summary>
    [JsonExtensionData]
    public Dictionary<string, object?>? Extra { get; init; }
}

/// <summary>
/// Agents send audit events here: one JSON object, a JSON array, or NDJSON. Valid events are stored even when
/// others in the batch are rejected; each rejection names its index and field. Every string is redacted before
/// it is stored. Sending the same (request_id, action) again stores nothing and counts as a duplicate.
/// </summary>
internal sealed class IngestEventsEndpoint(
    NpgsqlDataSource dataSource,
    AuditWriter writer,
    Redactor redactor,
    AuditSettingsStore settings,
    IOptions<AuditOptions> options,
    TimeProvider time) : EndpointWithoutRequest<IngestEventsResponse>
{
    public override void Configure()
    {
        Post("/v1/audit/events");
        Roles(Ops.Modules.Shared.Security.Roles.Ingest);
        Description(b => b.Accepts<AuditEventInput[]>("application/json", "application/x-ndjson"));
        Summary(s =>
        {
            s.Summary = "Record audit events (object, array or NDJSON)";
            s.Description = "Required: `user_id`, `request_id`, `action`; `ts` defaults to now. Optional `status`, `model`, `tokens_in`, " +
                            "`tokens_out`, `cost_usd`, `latency_ms` and any other fields (kept as JSON, size-capped). Every string is " +
                            "redacted before storage. Partial success: valid events are stored, the others listed in `errors` by index.";
            s.Responses[200] = "At least one event was stored or was a duplicate; `errors` lists the rejected ones.";
            s.Responses[400] = "The body is not JSON, or every event was rejected (the problem lists each error).";
            s.Responses[413] = "The body is over the size or event-count cap.";
        });
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        var caller = HttpContext.GetCaller();
        var config = options.Value;
        var (batch, problem) = await JsonBatch.ReadAsync(HttpContext.Request, new BatchLimits(config.MaxBatchBytes, config.MaxBatchEvents), ct);
        if (problem is not null)
        {
            await Send.ResultAsync(problem);
            return;
        }

        using (batch)
        {
            var now = time.GetUtcNow();
            var parser = new EventParser(redactor, config, caller.TenantId, now, settings.RetentionDays(caller.TenantId), settings.RetentionCutoff(caller.TenantId, now));
            var errors = new List<IngestError>();
            var events = new List<StoredEvent>(batch!.Items.Count);
            var indexes = new List<int>(batch.Items.Count);
            foreach (var item in batch.Items)
            {
                if (!item.IsParsed)
                {
                    errors.Add(new IngestError(item.Index, null, item.ParseError!));
                    continue;
                }

                if (parser.Parse(item.Element, item.Index, errors) is { } parsed)
                {
                    events.Add(parsed);
                    indexes.Add(item.Index);
                }
            }

            if (events.Count == 0)
            {
                await Send.ResultAsync(IngestProblem.AllRejected(errors));
                return;
            }

            bool[] inserted;
            await using (var connection = await dataSource.OpenConnectionAsync(ct))
            await using (var transaction = await connection.BeginTransactionAsync(ct))
            {
                inserted = await writer.InsertAsync(events, connection, transaction, ct);
                await transaction.CommitAsync(ct);
            }

            var duplicates = indexes.Where((_, i) => !inserted[i]).ToList();
            var rejected = errors.Select(e => e.Index).Distinct().Count();
            await Send.OkAsync(new IngestEventsResponse(events.Count - duplicates.Count, duplicates.Count, rejected, duplicates, errors), ct);
        }
    }
}

internal static class IngestProblem
{
    /// <summary>400 listing every error as <c>[index].field</c>, the way the problem details of other endpoints name fields.</summary>
    public static IResult AllRejected(IReadOnlyList<IngestError> errors) =>
        TypedResults.Problem(
            detail: $"No event was stored: all {errors.Select(e => e.Index).Distinct().Count()} were rejected.",
            statusCode: StatusCodes.Status400BadRequest,
            extensions: new Dictionary<string, object?>
            {
                ["errors"] = errors.Select(e => new { name = e.Field is null ? $"[{e.Index}]" : $"[{e.Index}].{e.Field}", reason = e.Reason }).ToList(),
            });
}
