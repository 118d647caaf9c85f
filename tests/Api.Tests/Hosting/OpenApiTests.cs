using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using FastEndpoints;
using Ops.Testing;
using Shouldly;
using Snapshooter.Xunit;
using Xunit;

namespace Ops.Api.Tests.Hosting;

public sealed class OpenApiTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    [Fact]
    public async Task The_OpenAPI_document_matches_the_reviewed_snapshot()
    {
        var document = await host.CreateClient().GetStringAsync("/openapi/v1.json");
        // Any contract change shows up in review as a change of this snapshot.
        Snapshot.Match(JsonNode.Parse(document)!.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
    }

    [Fact]
    public async Task Every_route_is_documented_with_its_parameters_and_security()
    {
        var document = JsonNode.Parse(await host.CreateClient().GetStringAsync("/openapi/v1.json"))!;
        document["openapi"]!.GetValue<string>().ShouldStartWith("3.1");
        document["components"]!["securitySchemes"]!["ApiKey"]!["scheme"]!.GetValue<string>().ShouldBe("bearer");

        var endpoints = host.Factory.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<EndpointDefinition>() is not null)
            .ToList();
        endpoints.ShouldNotBeEmpty();
        var paths = document["paths"]!.AsObject();
        foreach (var endpoint in endpoints)
        {
            var route = "/" + endpoint.RoutePattern.RawText!.TrimStart('/');
            var verbs = endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()!.HttpMethods;
            foreach (var verb in verbs)
            {
                var operation = paths[route]?[verb.ToLowerInvariant()];
                operation.ShouldNotBeNull($"{verb} {route} is missing from the OpenAPI document");
                foreach (var parameter in endpoint.RoutePattern.Parameters)
                {
                    operation["parameters"]!.AsArray().ShouldContain(
                        p => p!["name"]!.GetValue<string>() == parameter.Name && p["in"]!.GetValue<string>() == "path",
                        $"{verb} {route} does not document its route parameter {parameter.Name}");
                }

                var definition = endpoint.Metadata.GetMetadata<EndpointDefinition>()!;
                if (definition.AnonymousVerbs is not { Length: > 0 })
                {
                    operation["security"].ShouldNotBeNull($"{verb} {route} does not declare its security");
                    operation["responses"]!["401"].ShouldNotBeNull();
                }
            }
        }

        paths["/v1/admin/keys"]!["get"]!["parameters"]!.AsArray().ShouldContain(p => p!["name"]!.GetValue<string>() == "tenant_id" && p["in"]!.GetValue<string>() == "query");
        paths["/v1/admin/keys"]!["post"]!["requestBody"].ShouldNotBeNull();
    }

    [Fact]
    public async Task Every_endpoint_declares_the_roles_it_accepts()
    {
        var endpoints = host.Factory.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .Select(e => e.Metadata.GetMetadata<EndpointDefinition>())
            .OfType<EndpointDefinition>()
            .ToList();
        foreach (var definition in endpoints)
        {
            var anonymous = definition.AnonymousVerbs is { Length: > 0 };
            (anonymous || definition.AllowedRoles?.Count > 0).ShouldBeTrue($"{definition.EndpointType.Name} declares no role");
        }

        (await host.CreateClient().GetAsync("/scalar")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }
}
