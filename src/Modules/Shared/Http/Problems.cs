using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Ops.Modules.Shared.Http;

/// <summary>
/// RFC 9457 problem details for the errors that are not validation failures (those go through FastEndpoints'
/// validation pipeline, which already answers with problem details naming each field).
/// </summary>
public static class Problems
{
    public static ProblemHttpResult Create(int status, string detail, string? field = null)
    {
        var extensions = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (field is not null)
        {
            extensions["errors"] = new[] { new { name = field, reason = detail } };
        }

        return TypedResults.Problem(detail: detail, statusCode: status, extensions: extensions);
    }

    public static ProblemHttpResult NotFound(string detail) => Create(StatusCodes.Status404NotFound, detail);

    public static ProblemHttpResult Forbidden(string detail) => Create(StatusCodes.Status403Forbidden, detail);

    public static ProblemHttpResult Conflict(string detail, string? field = null) => Create(StatusCodes.Status409Conflict, detail, field);

    public static ProblemHttpResult BadRequest(string detail, string field) => Create(StatusCodes.Status400BadRequest, detail, field);

    public static ProblemHttpResult TooLarge(string detail, string field) => Create(StatusCodes.Status413PayloadTooLarge, detail, field);
}
