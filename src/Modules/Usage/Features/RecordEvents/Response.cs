namespace Ops.Modules.Usage.Features.RecordEvents;

/// <summary>The report of one ingestion request; everything accepted is committed.</summary>
/// <param name="Accepted">Events newly stored.</param>
/// <param name="Duplicates">Events whose request_id was already stored (or repeated in this request): not counted again.</param>
/// <param name="Rejected">Invalid events, listed in <paramref name="Errors"/>.</param>
/// <param name="Unpriced">Accepted events whose model has no price on their day: stored at cost 0, to reprice later.</param>
/// <param name="DuplicateIndexes">The positions (0-based) of the duplicates in the request.</param>
/// <param name="Errors">Each rejected event's position, request id (when readable) and field errors.</param>
internal sealed record RecordEventsResponse(
    int Accepted,
    int Duplicates,
    int Rejected,
    int Unpriced,
    IReadOnlyList<int> DuplicateIndexes,
    IReadOnlyList<RejectedEvent> Errors);

internal sealed record RejectedEvent(int Index, string? RequestId, IReadOnlyList<EventFieldError> Errors);

internal sealed record EventFieldError(string Name, string Reason);
