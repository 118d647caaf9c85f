using FastEndpoints;
using Microsoft.AspNetCore.Http.Json;
using Ops.Api.Hosting.OpenApi;
using Ops.Modules.KillSwitch;
using Ops.Modules.Shared.Json;
using Ops.Modules.Shared.Modules;
using Scalar.AspNetCore;

namespace Ops.Api.Hosting;

/// <summary>The host's cross-cutting pieces: wire format, errors, limits, endpoints, OpenAPI and Scalar.</summary>
internal static class OpsHost
{
    /// <summary>Call after every module is added: endpoints are discovered in the modules' assemblies.</summary>
    public static WebApplicationBuilder AddOpsHost(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<HostingOptions>().BindConfiguration(HostingOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.WebHost.ConfigureKestrel((context, kestrel) =>
            kestrel.Limits.MaxRequestBodySize = context.Configuration.GetSection(HostingOptions.Section).Get<HostingOptions>()?.MaxRequestBodyBytes
                ?? new HostingOptions().MaxRequestBodyBytes);

        // One JSON contract for FastEndpoints, minimal APIs and the OpenAPI generator.
        builder.Services.Configure<JsonOptions>(o => OpsJson.Configure(o.SerializerOptions));
        builder.Services.AddProblemDetails();
        builder.Services.AddHostedService<AppHostWatchdog>();

        var assemblies = builder.GetModuleCatalog().Assemblies.ToList();
        builder.Services.AddFastEndpoints(o =>
        {
            o.DisableAutoDiscovery = true;
            o.Assemblies = assemblies;
        });

        builder.Services.AddOpenApi("v1", o =>
        {
            o.AddDocumentTransformer<DocumentInfoTransformer>();
            o.AddOperationTransformer<FastEndpointsOperationTransformer>();
        });
        return builder;
    }

    public static WebApplication UseOpsHost(this WebApplication app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            // A body over the size limit is the client's error: answer 413, not 500.
            StatusCodeSelector = ex => ex is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError,
        });
        app.UseStatusCodePages();
        app.UseRequestBodyLimit();
        app.UseDashboard();
        app.UseAuthentication();
        app.UseAuthorization();
        // Rejects killed callers of endpoints marked [EnforceKillSwitch]; does nothing for any other route.
        app.UseKillSwitchEnforcement();
        app.UseFastEndpoints(c =>
        {
            OpsJson.Configure(c.Serializer.Options);
            c.Binding.UsePropertyNamingPolicy = true;
            c.Validation.UsePropertyNamingPolicy = true;
            c.Errors.UseProblemDetails();
        });

        app.MapOpenApi("/openapi/{documentName}.json").AllowAnonymous();
        app.MapScalarApiReference("/scalar", o => o
                .WithTitle("Ops API")
                .AddPreferredSecuritySchemes(OpenApiNames.SecurityScheme)
                .AddHttpAuthentication(OpenApiNames.SecurityScheme, auth => auth.Token = string.Empty))
            .AllowAnonymous();
        return app;
    }
}
