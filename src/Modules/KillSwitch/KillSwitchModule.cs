using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.FeatureManagement;
using Ops.Modules.KillSwitch.Contracts;
using Ops.Modules.KillSwitch.Enforcement;
using Ops.Modules.KillSwitch.FeatureFlags;
using Ops.Modules.KillSwitch.Flags;
using Ops.Modules.KillSwitch.Jobs;
using Ops.Modules.Shared.Modules;
using Ops.Modules.Shared.Scheduling;

namespace Ops.Modules.KillSwitch;

/// <summary>Registers the KillSwitch module (system flags, feature flags and their history; schema <c>killswitch</c>).</summary>
public static class KillSwitchModule
{
    public const string Schema = "killswitch";

    public static IHostApplicationBuilder AddKillSwitchModule(this IHostApplicationBuilder builder)
    {
        builder.AddOpsModule(new ModuleDefinition("KillSwitch", Schema, typeof(KillSwitchModule).Assembly));
        builder.Services.AddOptions<KillSwitchOptions>().BindConfiguration(KillSwitchOptions.Section).ValidateDataAnnotations().ValidateOnStart();

        var services = builder.Services;
        services.AddSingleton<KillSwitchMetrics>();
        services.AddSingleton<FlagCache>();
        services.AddSingleton<FlagStore>();
        services.AddSingleton<FlagChangeHub>();
        services.AddSingleton<FlagRefresher>();
        services.AddHostedService(sp => sp.GetRequiredService<FlagRefresher>());
        services.AddSingleton<IModuleInitializer, FlagCacheInitializer>();
        services.AddSingleton<FlagWriter>();
        services.AddSingleton<FeatureEvaluator>();
        services.AddSingleton<KillSwitchService>();
        services.AddSingleton<IKillSwitch>(sp => sp.GetRequiredService<KillSwitchService>());

        // FeatureManagement is app-wide; its definitions come from this module's tables (tenant-qualified names).
        // Registered before AddFeatureManagement, which only adds its configuration-backed provider if none is.
        services.AddSingleton<IFeatureDefinitionProvider, TenantFeatureDefinitionProvider>();
        services.AddFeatureManagement().AddFeatureFilter<StickyPercentageFilter>();

        services.AddSingleton<KilledRequestAuditor>();
        services.AddHostedService(sp => sp.GetRequiredService<KilledRequestAuditor>());
        services.AddSingleton<KillSwitchGate>();

        services.AddTransient<ExpiredFlagSweep>();
        services.AddSingleton<IModuleSchedule, KillSwitchSchedule>();
        return builder;
    }

    /// <summary>
    /// Rejects killed callers of endpoints marked <see cref="EnforceKillSwitchAttribute"/> with 503 (and writes
    /// during read-only mode). Call after <c>UseAuthentication</c>/<c>UseAuthorization</c>.
    /// </summary>
    public static IApplicationBuilder UseKillSwitchEnforcement(this IApplicationBuilder app) => app.UseMiddleware<KillSwitchMiddleware>();
}
