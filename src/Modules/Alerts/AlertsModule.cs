using Microsoft.Extensions.Hosting;
using Ops.Modules.Shared.Modules;

namespace Ops.Modules.Alerts;

/// <summary>Registers the Alerts module (Alert rules, state, snoozes and deliveries; schema <c>alerts</c>).</summary>
public static class AlertsModule
{
    public const string Schema = "alerts";

    public static IHostApplicationBuilder AddAlertsModule(this IHostApplicationBuilder builder)
    {
        builder.AddOpsModule(new ModuleDefinition("Alerts", Schema, typeof(AlertsModule).Assembly));
        return builder;
    }
}
