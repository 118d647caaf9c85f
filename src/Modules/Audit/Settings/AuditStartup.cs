using Microsoft.Extensions.Hosting;
using Ops.Modules.Audit.Jobs;
using Ops.Modules.Shared.Modules;

namespace Ops.Modules.Audit.Settings;

/// <summary>Before the host serves requests: every tenant's settings in memory, and the coming days' partitions in place.</summary>
internal sealed class AuditInitializer(AuditSettingsStore settings, RetentionJob retention, TimeProvider time) : IModuleInitializer
{
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await settings.LoadAllAsync(cancellationToken);
        await retention.EnsurePartitionsAheadAsync(DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime), cancellationToken);
    }
}

/// <summary>The safety net under the change feed: reloads every tenant's settings once a minute.</summary>
internal sealed class AuditSettingsRefresher(AuditSettingsStore settings, TimeProvider time) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Interval, time, stoppingToken);
                await settings.LoadAllAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException)
            {
                // The database is unreachable: keep the settings in memory and try again at the next tick.
            }
        }
    }
}
