using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Ops.Modules.Alerts.Breaker;
using Ops.Modules.Alerts.Delivery;
using Ops.Modules.Alerts.Evaluation;
using Ops.Modules.Alerts.Jobs;
using Ops.Modules.Alerts.Rules;
using Ops.Modules.Alerts.State;
using Ops.Modules.Shared.Modules;
using Ops.Modules.Shared.Scheduling;
using Ops.Modules.Usage.Contracts;

namespace Ops.Modules.Alerts;

/// <summary>Registers the Alerts module (Alert rules, state, snoozes and deliveries; schema <c>alerts</c>).</summary>
public static class AlertsModule
{
    public const string Schema = "alerts";

    public static IHostApplicationBuilder AddAlertsModule(this IHostApplicationBuilder builder)
    {
        builder.AddOpsModule(new ModuleDefinition("Alerts", Schema, typeof(AlertsModule).Assembly));
        builder.Services.AddOptions<AlertsOptions>().BindConfiguration(AlertsOptions.Section).ValidateDataAnnotations().ValidateOnStart();

        var services = builder.Services;
        services.AddSingleton<RuleStore>();
        services.AddSingleton<RuleInputsReader>();
        services.AddSingleton<AlertStateWriter>();
        services.AddSingleton<AlertReader>();
        services.AddSingleton<WatchedTenants>();
        services.AddSingleton<AlertEvaluator>();
        services.AddTransient<AlertEvaluationJob>();
        services.AddSingleton<IModuleSchedule, AlertsSchedule>();

        services.AddSingleton<DeliveryDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<DeliveryDispatcher>());
        // Our own retries (the outbox, with backoff, across restarts) and our own per-attempt timeout: the host's
        // standard resilience handler (ServiceDefaults) would retry each attempt again and impose its own timeouts.
#pragma warning disable EXTEXP0001 // RemoveAllResilienceHandlers is marked experimental.
        services.AddHttpClient(DeliveryDispatcher.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false })
            .RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001

        services.AddSingleton<BreakerSettingsStore>();
        services.AddSingleton<SpendBreaker>();
        services.AddHostedService(sp => sp.GetRequiredService<SpendBreaker>());
        services.AddSingleton<IUsageBatchObserver, SpendBreakerObserver>();
        return builder;
    }
}
