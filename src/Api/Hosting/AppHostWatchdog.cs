using System.Diagnostics;
using System.Globalization;

namespace Ops.Api.Hosting;

/// <summary>
/// When started by the AppHost (OPS_APPHOST_PID set), stops the Api if the AppHost disappears without
/// stopping it (killed -9, terminal closed), so no orphan keeps the port and the database busy.
/// </summary>
internal sealed partial class AppHostWatchdog(IHostApplicationLifetime lifetime, IConfiguration configuration, ILogger<AppHostWatchdog> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!int.TryParse(configuration["OPS_APPHOST_PID"], NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid))
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(2));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (!IsRunning(pid))
                {
                    LogOrphaned(logger, pid);
                    lifetime.StopApplication();
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The AppHost (pid {Pid}) is gone; stopping")]
    private static partial void LogOrphaned(ILogger logger, int pid);
}
