using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Ops.Api.Identity.ApiKeys;

namespace Ops.Api.Hosting.OpenApi;

/// <summary>Title, description and the bearer API-key security scheme.</summary>
internal sealed class DocumentInfoTransformer : IOpenApiDocumentTransformer
{
    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info = new OpenApiInfo
        {
            Title = "Ops API",
            Version = "v1",
            Description =
                "Cost, audit, alerts and kill switch for LLM-powered agents. Authenticate with an API key as " +
                $"`Authorization: Bearer <key>` (or `{ApiKeyAuthenticationHandler.ApiKeyHeader}: <key>`). JSON uses snake_case; " +
                "errors are RFC 9457 problem details naming the offending field.",
        };
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[OpenApiNames.SecurityScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "ops_<prefix>_<secret>",
            Description = "An Ops API key. Roles: ingest (write events), read (query), admin (operate; implies read).",
        };
        return RemoveUnreferencedSchemasAsync(document, cancellationToken);
    }

    /// <summary>Request DTOs of GET endpoints become query parameters; their leftover body schemas would only confuse readers.</summary>
    private static async Task RemoveUnreferencedSchemasAsync(OpenApiDocument document, CancellationToken cancellationToken)
    {
        if (document.Components?.Schemas is not { Count: > 0 } schemas)
        {
            return;
        }

        while (true)
        {
            var json = await document.SerializeAsJsonAsync(OpenApiSpecVersion.OpenApi3_1, cancellationToken);
            var unused = schemas.Keys.Where(name => !json.Contains($"\"#/components/schemas/{name}\"", StringComparison.Ordinal)).ToList();
            if (unused.Count == 0)
            {
                return;
            }

            foreach (var name in unused)
            {
                schemas.Remove(name);
            }
        }
    }
}
