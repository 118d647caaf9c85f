using Coravel.Invocable;
using Coravel.Scheduling.Schedule.Interfaces;
using Microsoft.Extensions.Options;
using Ops.Modules.Alerts.Evaluation;
using Ops.Modules.Shared.Scheduling;

namespace Ops.Modules.Alerts.Jobs;

/// <summary>Every <see cref="AlertsOptions.EvaluationIntervalMinutes"/> minutes, once across all instances: evaluates every watched tenant.</summary>
internal sealed class AlertEvaluationJob(AlertEvaluator evaluator) : IInvocable
{
    public Task Invoke() => evaluator.EvaluateAllAsync(CancellationToken.None);
}

internal sealed class AlertsSchedule(IOptions<AlertsOptions> options) : IModuleSchedule
{
    public void Schedule(IScheduler scheduler)
    {
        if (options.Value.EvaluationEnabled)
        {
            scheduler.Schedule<AlertEvaluationJob>()
                .Cron($"*/{options.Value.EvaluationIntervalMinutes} * * * *")
                .PreventOverlapping(AlertEvaluator.LockName);
        }
    }
}
