using Coravel.Invocable;
using Coravel.Scheduling.Schedule.Interfaces;
using Microsoft.Extensions.Options;
using Npgsql;
using Ops.Modules.KillSwitch.Flags;
using Ops.Modules.Shared.Scheduling;

namespace Ops.Modules.KillSwitch.Jobs;

/// <summary>
/// Every minute, once across all instances: moves expired flags to the history and the audit log (actor
/// <c>system:killswitch-expiry</c>). Checks never wait for it; they evaluate expiry themselves at check time.
/// </summary>
internal sealed class ExpiredFlagSweep(NpgsqlDataSource dataSource, FlagWriter writer) : IInvocable
{
    public const string LockName = "killswitch.expiry-sweep";

    public Task Invoke() => RunAsync(CancellationToken.None);

    /// <summary>Returns how many flags expired, or null when another instance holds the lock.</summary>
    public async Task<int?> RunAsync(CancellationToken cancellationToken)
    {
        int? expired = null;
        await AdvisoryLock.TryRunExclusiveAsync(dataSource, LockName, async ct => expired = await writer.ExpireAsync(ct), cancellationToken);
        return expired;
    }
}

internal sealed class KillSwitchSchedule(IOptions<KillSwitchOptions> options) : IModuleSchedule
{
    public void Schedule(IScheduler scheduler)
    {
        if (options.Value.ExpirySweepEnabled)
        {
            scheduler.Schedule<ExpiredFlagSweep>().EveryMinute().PreventOverlapping(ExpiredFlagSweep.LockName);
        }
    }
}
