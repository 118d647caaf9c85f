using FastEndpoints;
using FluentValidation;
using Ops.Modules.Shared.Http;
using Ops.Modules.Shared.Security;
using Ops.Modules.Usage.Ingestion;

namespace Ops.Modules.Usage.Features.RecordFeedback;

internal sealed class RecordFeedbackRequest
{
    /// <summary>The request_id of the event being rated.</summary>
    public string RequestId { get; init; } = string.Empty;

    /// <summary>up or down; replaces any earlier rating of the same event.</summary>
    public string Rating { get; init; } = string.Empty;

    /// <summary>Optional free text (redacted before it is stored).</summary>
    public string? Comment { get; init; }
}

internal sealed class RecordFeedbackValidator : Validator<RecordFeedbackRequest>
{
    public RecordFeedbackValidator()
    {
        RuleFor(r => r.RequestId).NotEmpty().MaximumLength(256);
        RuleFor(r => r.Rating).Must(r => Ratings.All.Contains(r)).WithMessage("must be up or down.");
        RuleFor(r => r.Comment).MaximumLength(2000);
    }
}

/// <param name="PreviousRating">The rating this one replaced, if any.</param>
internal sealed record RecordFeedbackResponse(string RequestId, string Rating, string? PreviousRating, DateTimeOffset RecordedAt);

internal sealed class RecordFeedbackEndpoint(FeedbackRecorder recorder) : Endpoint<RecordFeedbackRequest, RecordFeedbackResponse>
{
    public override void Configure()
    {
        Post("/v1/usage/feedback");
        Roles(Ops.Modules.Shared.Security.Roles.Ingest);
        Summary(s =>
        {
            s.Summary = "Rate an earlier LLM call thumbs up or down";
            s.Description = "The latest rating of an event replaces earlier ones; the rollups' feedback counts follow.";
            s.Responses[200] = "Recorded.";
            s.Responses[404] = "The tenant has no event with this request_id (or it is past raw-event retention).";
        });
    }

    public override async Task HandleAsync(RecordFeedbackRequest req, CancellationToken ct)
    {
        var outcome = await recorder.RecordAsync(HttpContext.GetCaller().TenantId, req.RequestId, req.Rating, req.Comment, ct);
        if (outcome is null)
        {
            await Send.ResultAsync(Problems.NotFound($"No event with request_id '{req.RequestId}'."));
            return;
        }

        await Send.OkAsync(new RecordFeedbackResponse(outcome.RequestId, outcome.Rating, outcome.PreviousRating, outcome.RecordedAt), ct);
    }
}
