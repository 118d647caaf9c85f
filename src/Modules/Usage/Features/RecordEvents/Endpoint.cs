using FastEndpoints;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Ops.Modules.Audit.Contracts;
using Ops.Modules.Shared.Http;
using Ops.Modules.Shared.Ingestion;
using Ops.Modules.Shared.Security;
using Ops.Modules.Usage.Ingestion;

namespace Ops.Modules.Usage.Features.RecordEvents;

/// <summary>
/// Ingests LLM-call events: one object, a JSON array, or NDJSON. Invalid events are reported by index with their
/// field errors while the valid ones are stored; a 2xx means they are committed.
/// </summary>
internal sealed class RecordEventsEndpoint(UsageIngestor ingestor, IRedactor redactor, IOptions<UsageOptions> options, TimeProvider time)
    : EndpointWithoutRequest<RecordEventsResponse>
{
    public override void Configure()
    {
        Post("/v1/usage/events");
        Roles(Ops.Modules.Shared.Security.Roles.Ingest);
        Description(b => b.Accepts<UsageEventDocument>("application/json", "application/x-ndjson"));
        Summary(s =>
        {
            s.Summary = "Record LLM-call events (one, an array, or NDJSON)";
            s.Description = "Idempotent per `request_id`: a retry is reported as a duplicate and never counted twice. "
                           + "Invalid events are listed in `errors` by index; the others are stored. A lone invalid event, or a request "
                           + "where every event is invalid, is answered 400 naming the fields (`[index].field` for batches).";
            s.Responses[200] = "Committed: how many events were accepted, duplicates and rejected (with their field errors).";
            s.Responses[400] = "Not parseable at all, or no valid event: the problem names each field (`[index].field` in a batch).";
            s.Responses[413] = "Over the request's size or event-count cap (or a lone event's metadata over its cap).";
        });
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        var caller = HttpContext.GetCaller();
        var settings = options.Value;
        var receivedAt = time.GetUtcNow();
        var (batch, problem) = await JsonBatch.ReadAsync(HttpContext.Request, new BatchLimits(settings.MaxRequestBytes, settings.MaxEventsPerRequest), ct);
        if (problem is not null)
        {
            await Send.ResultAsync(problem);
            return;
        }

        using (batch)
        {
            var context = new EventReadContext(receivedAt, TimeSpan.FromSeconds(settings.MaxFutureSkewSeconds), settings.MaxMetadataBytes, caller.TenantId, redactor);
            var valid = new List<UsageEvent>(batch!.Items.Count);
            var rejected = new List<RejectedEvent>();
            var fieldErrors = new List<FieldError>();
            foreach (var item in batch.Items)
            {
                if (!item.IsParsed)
                {
                    rejected.Add(new RejectedEvent(item.Index, null, [new EventFieldError("body", $"line {item.Index + 1} {item.ParseError}")]));
                    continue;
                }

                if (UsageEventReader.Read(item.Element, item.Index, context, fieldErrors) is { } parsed)
                {
                    valid.Add(parsed);
                }
                else
                {
                    rejected.Add(new RejectedEvent(item.Index, RequestIdOf(item), fieldErrors.Select(e => new EventFieldError(e.Name, e.Reason)).ToList()));
                }
            }

            if (valid.Count == 0)
            {
                await Send.ResultAsync(NothingValid(batch.Items.Count == 1 && batch.Items[0].IsParsed, rejected, fieldErrors));
                return;
            }

            var outcome = await ingestor.IngestAsync(caller.TenantId, valid, receivedAt, ct);
            await Send.OkAsync(
                new RecordEventsResponse(outcome.Accepted, outcome.DuplicateIndexes.Count, rejected.Count, outcome.Unpriced, outcome.DuplicateIndexes, rejected),
                ct);
        }
    }

    private static string? RequestIdOf(BatchItem item) =>
        item.Element.TryGetProperty("request_id"u8, out var id) && id.ValueKind == System.Text.Json.JsonValueKind.String ? id.GetString() : null;

    /// <summary>Nothing to store: a lone event answers like any single-resource request (400, or 413 for its metadata).</summary>
    private static IResult NothingValid(bool loneEvent, List<RejectedEvent> rejected, List<FieldError> loneErrors)
    {
        if (loneEvent && loneErrors.Exists(e => e.IsOverCap))
        {
            var overCap = loneErrors.First(e => e.IsOverCap);
            return Problems.TooLarge($"{overCap.Name} {overCap.Reason}", overCap.Name);
        }

        var errors = rejected.SelectMany(r => r.Errors.Select(e => new { name = loneEvent ? e.Name : $"[{r.Index}].{e.Name}", reason = e.Reason })).ToArray();
        return TypedResults.Problem(
            detail: loneEvent ? "The event is invalid; see errors." : "Every event in the request is invalid; see errors (by index).",
            statusCode: StatusCodes.Status400BadRequest,
            extensions: new Dictionary<string, object?>(StringComparer.Ordinal) { ["errors"] = errors });
    }
}
