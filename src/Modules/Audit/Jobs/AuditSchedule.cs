using System.Globalization;
using Coravel.Invocable;
using Coravel.Scheduling.Schedule.Interfaces;
using Microsoft.Extensions.Options;
using Ops.Modules.Shared.Scheduling;

namespace Ops.Modules.Audit.Jobs;

/// <summary>The Audit module's recurring work: the retention run, daily at Modules:Audit:Retention:RunAtUtc.</summary>
internal sealed class AuditSchedule(IOptions<AuditOptions> options) : IModuleSchedule
{
    public void Schedule(IScheduler scheduler)
    {
        var at = RunAt(options.Value.Retention);
        scheduler.Schedule<RetentionInvocable>().DailyAt(at.Hour, at.Minute).PreventOverlapping(RetentionJob.LockName);
    }

    public static TimeOnly RunAt(AuditRetentionOptions retention) => TimeOnly.ParseExact(retention.RunAtUtc, "HH:mm", CultureInfo.InvariantCulture);

    /// <summary>The next scheduled run after <paramref name="now"/> (UTC).</summary>
    public static DateTimeOffset NextRun(AuditRetentionOptions retention, DateTimeOffset now)
    {
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var next = new DateTimeOffset(today.ToDateTime(RunAt(retention)), TimeSpan.Zero);
        return next > now ? next : next.AddDays(1);
    }
}

/// <summary>Coravel's entry point; the advisory lock makes it run on one instance only.</summary>
internal sealed class RetentionInvocable(RetentionJob job) : IInvocable
{
    public Task Invoke() => job.RunExclusiveAsync(CancellationToken.None);
}
