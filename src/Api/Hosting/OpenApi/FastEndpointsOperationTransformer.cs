using System.Collections;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using FastEndpoints;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Ops.Api.Hosting.OpenApi;

/// <summary>
/// Fills in what the OpenAPI generator cannot see through FastEndpoints' handler delegate: route and query
/// parameters (from the request DTO), summaries, tags, operation ids, the roles and security requirement,
/// and the problem-details error responses every operation can answer with.
/// </summary>
internal sealed class FastEndpointsOperationTransformer : IOpenApiOperationTransformer
{
    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var definition = context.Description.ActionDescriptor.EndpointMetadata.OfType<EndpointDefinition>().FirstOrDefault();
        if (definition is null)
        {
            return Task.CompletedTask;
        }

        var method = context.Description.HttpMethod ?? "GET";
        var route = context.Description.RelativePath ?? string.Empty;
        var routeParameters = RouteParameterNames(route);

        operation.OperationId = definition.EndpointType.Name.Replace("Endpoint", string.Empty, StringComparison.Ordinal);
        operation.Tags = new HashSet<OpenApiTagReference> { new(TagFor(definition.EndpointType), context.Document) };
        if (definition.EndpointSummary is { } summary)
        {
            operation.Summary = summary.Summary;
            operation.Description = string.IsNullOrWhiteSpace(summary.Description) ? null : summary.Description;
        }

        operation.Parameters ??= [];
        foreach (var name in routeParameters)
        {
            if (operation.Parameters.Any(p => p.Name == name && p.In == ParameterLocation.Path))
            {
                continue;
            }

            var property = FindProperty(definition.ReqDtoType, name);
            operation.Parameters.Add(new OpenApiParameter
            {
                Name = name,
                In = ParameterLocation.Path,
                Required = true,
                Schema = SchemaFor(property?.PropertyType ?? typeof(string)),
            });
        }

        var bodyless = method is "GET" or "DELETE" or "HEAD";
        foreach (var property in QueryProperties(definition.ReqDtoType, routeParameters, bodyless))
        {
            var name = JsonNamingPolicy.SnakeCaseLower.ConvertName(property.Name);
            if (operation.Parameters.Any(p => p.Name == name))
            {
                continue;
            }

            var type = property.PropertyType;
            operation.Parameters.Add(new OpenApiParameter
            {
                Name = name,
                In = ParameterLocation.Query,
                Required = property.GetCustomAttribute<System.ComponentModel.DataAnnotations.RequiredAttribute>() is not null,
                Description = XmlSummaries.For(property),
                Schema = SchemaFor(type),
                Explode = IsCollection(type),
            });
        }

        if (bodyless)
        {
            operation.RequestBody = null;
        }

        var anonymous = definition.AnonymousVerbs?.Length > 0;
        if (!anonymous)
        {
            operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(OpenApiNames.SecurityScheme, context.Document)] = [] }];
            var roles = definition.AllowedRoles?.ToList() ?? [];
            if (roles.Count > 0)
            {
                var line = $"Requires an API key with one of the roles: {string.Join(", ", roles)}.";
                operation.Description = string.IsNullOrEmpty(operation.Description) ? line : $"{operation.Description}\n\n{line}";
            }

            AddProblem(operation, "401", "Missing, malformed, revoked or expired API key.");
            AddProblem(operation, "403", "The key lacks the required role, or the resource belongs to another tenant.");
        }

        if (definition.ReqDtoType != typeof(EmptyRequest) && (!bodyless || routeParameters.Count > 0 || operation.Parameters.Count > 0))
        {
            AddProblem(operation, "400", "A field is invalid; the problem details name it.");
        }

        if (definition.EndpointSummary is { } described)
        {
            // FastEndpoints documents the response DTO under 200; an endpoint that answers 201/202 says so in its summary.
            var success = described.Responses.Keys.Where(s => s is >= 201 and < 300 && s != 204).Order().FirstOrDefault();
            if (success != 0 && !described.Responses.ContainsKey(200) && operation.Responses?.Remove("200", out var ok) == true)
            {
                operation.Responses[success.ToString(System.Globalization.CultureInfo.InvariantCulture)] = ok;
            }

            foreach (var (status, text) in described.Responses)
            {
                var key = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
                operation.Responses ??= [];
                if (operation.Responses.TryGetValue(key, out var existing) && existing is OpenApiResponse response)
                {
                    response.Description = text;
                }
                else if (status >= 400)
                {
                    AddProblem(operation, key, text);
                }
                else
                {
                    operation.Responses[key] = new OpenApiResponse { Description = text };
                }
            }
        }

        return Task.CompletedTask;
    }

    private static void AddProblem(OpenApiOperation operation, string status, string description)
    {
        operation.Responses ??= [];
        if (operation.Responses.TryGetValue(status, out var existing) && existing.Content is { Count: > 0 })
        {
            return;
        }

        operation.Responses[status] = new OpenApiResponse
        {
            Description = description,
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["application/problem+json"] = new() { Schema = ProblemSchema },
            },
        };
    }

    private static readonly OpenApiSchema ProblemSchema = new()
    {
        Type = JsonSchemaType.Object,
        Description = "RFC 9457 problem details; `errors` names each offending field.",
        Properties = new Dictionary<string, IOpenApiSchema>
        {
            ["type"] = new OpenApiSchema { Type = JsonSchemaType.String },
            ["title"] = new OpenApiSchema { Type = JsonSchemaType.String },
            ["status"] = new OpenApiSchema { Type = JsonSchemaType.Integer },
            ["detail"] = new OpenApiSchema { Type = JsonSchemaType.String },
            ["instance"] = new OpenApiSchema { Type = JsonSchemaType.String },
            ["errors"] = new OpenApiSchema
            {
                Type = JsonSchemaType.Array,
                Items = new OpenApiSchema
                {
                    Type = JsonSchemaType.Object,
                    Properties = new Dictionary<string, IOpenApiSchema>
                    {
                        ["name"] = new OpenApiSchema { Type = JsonSchemaType.String },
                        ["reason"] = new OpenApiSchema { Type = JsonSchemaType.String },
                    },
                },
            },
        },
    };

    private static string TagFor(Type endpointType)
    {
        // Ops.Modules.Usage.Features.X → Usage; Ops.Api.Identity.Features.X → Identity.
        var parts = (endpointType.Namespace ?? string.Empty).Split('.');
        var index = Array.IndexOf(parts, "Modules");
        if (index >= 0 && index + 1 < parts.Length)
        {
            return parts[index + 1];
        }

        index = Array.IndexOf(parts, "Api");
        return index >= 0 && index + 1 < parts.Length ? parts[index + 1] : "Ops";
    }

    private static List<string> RouteParameterNames(string route)
    {
        var names = new List<string>();
        var start = route.IndexOf('{', StringComparison.Ordinal);
        while (start >= 0)
        {
            var end = route.IndexOf('}', start);
            if (end < 0)
            {
                break;
            }

            var name = route[(start + 1)..end].Split(':', '=', '?')[0].TrimStart('*');
            names.Add(name);
            start = route.IndexOf('{', end);
        }

        return names;
    }

    private static PropertyInfo? FindProperty(Type? dto, string snakeOrPascalName) =>
        dto?.GetProperties(BindingFlags.Public | BindingFlags.Instance).FirstOrDefault(p =>
            string.Equals(p.Name, snakeOrPascalName, StringComparison.OrdinalIgnoreCase) ||
            JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name) == snakeOrPascalName);

    private static IEnumerable<PropertyInfo> QueryProperties(Type? dto, List<string> routeParameters, bool bodyless)
    {
        if (dto is null || dto == typeof(EmptyRequest))
        {
            return [];
        }

        return dto.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite || p.SetMethod is not null || p.GetMethod is not null)
            .Where(p => !routeParameters.Contains(JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name)) &&
                        !routeParameters.Contains(p.Name, StringComparer.OrdinalIgnoreCase))
            .Where(p => p.GetCustomAttribute<FromHeaderAttribute>() is null && p.GetCustomAttribute<FromClaimAttribute>() is null &&
                        p.GetCustomAttribute<System.Text.Json.Serialization.JsonIgnoreAttribute>() is null)
            .Where(p => bodyless || p.GetCustomAttribute<QueryParamAttribute>() is not null);
    }

    private static bool IsCollection(Type type) => type != typeof(string) && typeof(IEnumerable).IsAssignableFrom(type);

    internal static OpenApiSchema SchemaFor(Type type)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (IsCollection(underlying))
        {
            var element = underlying.IsArray ? underlying.GetElementType()! : underlying.GetGenericArguments().FirstOrDefault() ?? typeof(string);
            return new OpenApiSchema { Type = JsonSchemaType.Array, Items = SchemaFor(element) };
        }

        if (underlying.IsEnum)
        {
            return new OpenApiSchema
            {
                Type = JsonSchemaType.String,
                Enum = Enum.GetNames(underlying).Select(n => (JsonNode)JsonValue.Create(JsonNamingPolicy.SnakeCaseLower.ConvertName(n))).ToList(),
            };
        }

        return underlying switch
        {
            _ when underlying == typeof(bool) => new OpenApiSchema { Type = JsonSchemaType.Boolean },
            _ when underlying == typeof(int) || underlying == typeof(long) || underlying == typeof(short) =>
                new OpenApiSchema { Type = JsonSchemaType.Integer, Format = underlying == typeof(long) ? "int64" : "int32" },
            _ when underlying == typeof(decimal) || underlying == typeof(double) || underlying == typeof(float) => new OpenApiSchema { Type = JsonSchemaType.Number },
            _ when underlying == typeof(Guid) => new OpenApiSchema { Type = JsonSchemaType.String, Format = "uuid" },
            _ when underlying == typeof(DateTimeOffset) || underlying == typeof(DateTime) => new OpenApiSchema { Type = JsonSchemaType.String, Format = "date-time" },
            _ when underlying == typeof(DateOnly) => new OpenApiSchema { Type = JsonSchemaType.String, Format = "date" },
            _ => new OpenApiSchema { Type = JsonSchemaType.String },
        };
    }
}
