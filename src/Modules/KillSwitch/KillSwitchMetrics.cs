using System.Diagnostics.Metrics;
using Ops.Modules.KillSwitch.Flags;

namespace Ops.Modules.KillSwitch;

/// <summary>The module's OpenTelemetry instruments (meter <c>Ops.KillSwitch</c>, exported with every <c>Ops.*</c> meter).</summary>
internal sealed class KillSwitchMetrics
{
    public const string MeterName = "Ops.KillSwitch";
    private readonly Counter<long> _rejections;
    private readonly Counter<long> _reloadFailures;

    public KillSwitchMetrics(IMeterFactory meters, IServiceProvider services)
    {
        var meter = meters.Create(MeterName);
        _rejections = meter.CreateCounter<long>("ops.killswitch.rejections", description: "Requests rejected by the kill-switch enforcement (503)");
        _reloadFailures = meter.CreateCounter<long>("ops.killswitch.reload_failures", description: "Flag loads that failed (the last known flags kept applying)");
        // Resolved lazily: the cache and the hub depend on nothing here, but are created after the metrics.
        meter.CreateObservableGauge("ops.killswitch.stale", () => Resolve<FlagCache>(services).IsStale ? 1 : 0, description: "1 while this instance's flags may be behind the database");
        meter.CreateObservableGauge("ops.killswitch.streams", () => Resolve<FlagChangeHub>(services).Count, description: "Open flag streams (SSE) on this instance");
    }

    public void Rejected(string scope) => _rejections.Add(1, new KeyValuePair<string, object?>("scope", scope));

    public void ReloadFailed() => _reloadFailures.Add(1);

    private static T Resolve<T>(IServiceProvider services) where T : notnull =>
        (T)(services.GetService(typeof(T)) ?? throw new InvalidOperationException($"{typeof(T).Name} is not registered."));
}
