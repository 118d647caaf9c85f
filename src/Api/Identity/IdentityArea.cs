using Microsoft.AspNetCore.Authentication;
using Ops.Api.Identity.ApiKeys;
using Ops.Modules.Shared.Modules;

namespace Ops.Api.Identity;

/// <summary>
/// Tenants and API keys: the Api's own small area (schema <c>identity</c>), laid out like a module because
/// every module authenticates through it.
/// </summary>
internal static class IdentityArea
{
    public static IHostApplicationBuilder AddIdentityArea(this IHostApplicationBuilder builder)
    {
        builder.AddOpsModule(new ModuleDefinition("Identity", "identity", typeof(IdentityArea).Assembly));
        builder.Services.AddOptions<IdentityOptions>()
            .BindConfiguration(IdentityOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        builder.Services.AddSingleton<ApiKeyStore>();
        builder.Services.AddSingleton<KeyUsageRecorder>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<KeyUsageRecorder>());
        builder.Services.AddSingleton<IModuleInitializer, BootstrapInitializer>();

        builder.Services
            .AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorization();
        return builder;
    }
}
