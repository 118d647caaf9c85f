using Coravel;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Ops.Modules.Shared.Data;
using Ops.Modules.Shared.Notifications;
using Ops.Modules.Shared.Scheduling;

namespace Ops.Modules.Shared.Modules;

public static class ModuleRegistration
{
    /// <summary>
    /// Registers a module with the host and, the first time it is called, the kernel every module relies on:
    /// the clock, the change feed, Coravel and the migration runner.
    /// </summary>
    public static IHostApplicationBuilder AddOpsModule(this IHostApplicationBuilder builder, ModuleDefinition module)
    {
        builder.GetModuleCatalog().Add(module);
        return builder;
    }

    public static ModuleCatalog GetModuleCatalog(this IHostApplicationBuilder builder)
    {
        if (builder.Properties.TryGetValue(typeof(ModuleCatalog), out var existing))
        {
            return (ModuleCatalog)existing;
        }

        var catalog = new ModuleCatalog();
        builder.Properties[typeof(ModuleCatalog)] = catalog;
        builder.Services.AddSingleton(catalog);
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddScheduler();
        builder.Services.AddSingleton<ModuleMigrator>();
        builder.AddChangeFeed();
        DapperConventions.Apply();
        return catalog;
    }

    /// <summary>Runs every module's migrations, then every module initializer. Returns false (after logging why) on failure.</summary>
    public static async Task<bool> PrepareModulesAsync(this WebApplication app, CancellationToken cancellationToken = default)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Ops.Startup");
        try
        {
            await app.Services.GetRequiredService<ModuleMigrator>().MigrateAllAsync(cancellationToken);
        }
        catch (ModuleMigrationException ex)
        {
            logger.LogCritical(ex.InnerException, "Start-up stopped: {Reason}", ex.Message);
            return false;
        }

        foreach (var initializer in app.Services.GetServices<IModuleInitializer>())
        {
            await initializer.InitializeAsync(cancellationToken);
        }

        return true;
    }

    /// <summary>Starts Coravel with every schedule the modules contributed.</summary>
    public static WebApplication UseModuleSchedules(this WebApplication app)
    {
        var schedules = app.Services.GetServices<IModuleSchedule>().ToList();
        app.Services.UseScheduler(scheduler =>
        {
            foreach (var schedule in schedules)
            {
                schedule.Schedule(scheduler);
            }
        }).LogScheduledTaskProgress();
        return app;
    }
}
