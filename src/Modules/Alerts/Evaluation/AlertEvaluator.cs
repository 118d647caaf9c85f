using Microsoft.Extensions.Logging;
using Npgsql;
using Ops.Modules.Alerts.Breaker;
using Ops.Modules.Alerts.Delivery;
using Ops.Modules.Alerts.Rules;
using Ops.Modules.Alerts.State;
using Ops.Modules.KillSwitch.Contracts;
using Ops.Modules.Shared.Scheduling;

namespace Ops.Modules.Alerts.Evaluation;

internal sealed record EvaluationResult(DateTimeOffset EvaluatedAt, IReadOnlyList<AlertSummary> Fired, IReadOnlyList<AlertSummary> Resolved);

/// <summary>
/// One evaluation of a tenant: read the inputs through the Usage contracts, run the rules, apply the findings
/// (state, dedup, snoozes, outbox, audit) and wake the delivery loop. A spend-breaker alert stays firing while its
/// kill flag is on and resolves when the kill expires or is cleared.
/// </summary>
internal sealed partial class AlertEvaluator(
    NpgsqlDataSource dataSource,
    RuleStore rules,
    RuleInputsReader inputs,
    AlertStateWriter writer,
    IKillSwitch killSwitch,
    DeliveryDispatcher dispatcher,
    WatchedTenants tenants,
    TimeProvider time,
    ILogger<AlertEvaluator> logger)
{
    public const string LockName = "alerts.evaluate";

    public async Task<EvaluationResult> EvaluateTenantAsync(string tenantId, CancellationToken cancellationToken)
    {
        await tenants.EnsureAsync(tenantId, cancellationToken);
        var now = time.GetUtcNow();
        var settings = await rules.GetAsync(tenantId, cancellationToken);
        var input = await inputs.ReadAsync(tenantId, settings, now, cancellationToken);
        var findings = RuleEngine.Evaluate(input, settings);
        var killed = ActiveBreakerKeys(tenantId, now);
        var changes = await writer.ApplyAsync(
            tenantId, findings, alert => alert.Rule != RuleCatalog.SpendBreaker || !killed.Contains(alert.Key), now, cancellationToken);
        if (changes.DeliveriesQueued > 0)
        {
            dispatcher.Wake();
        }

        return new EvaluationResult(now, changes.Fired, changes.Resolved);
    }

    /// <summary>Every watched tenant, once across all instances; null when another instance is evaluating.</summary>
    public async Task<int?> EvaluateAllAsync(CancellationToken cancellationToken)
    {
        int? evaluated = null;
        await AdvisoryLock.TryRunExclusiveAsync(dataSource, LockName, async ct =>
        {
            evaluated = 0;
            foreach (var tenantId in await tenants.ListAsync(ct))
            {
                try
                {
                    await EvaluateTenantAsync(tenantId, ct);
                    evaluated++;
                }
#pragma warning disable CA1031 // One tenant's failure must not keep the others from being evaluated.
                catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
                {
                    LogTenantFailed(logger, tenantId, ex);
                }
            }
        }, cancellationToken);
        return evaluated;
    }

    /// <summary>The spend-breaker alert keys whose kill flag (set by the breaker) is still on.</summary>
    private HashSet<string> ActiveBreakerKeys(string tenantId, DateTimeOffset now)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var flag in killSwitch.GetFlags(tenantId))
        {
            if (flag.Scope == FlagScope.Tenant && flag.SetBy == SpendBreaker.Actor && flag.IsOnAt(now) && FlagKeys.TryParse(flag.Key, out var key, out _))
            {
                var entity = key.Kind switch { FlagKind.KillUser => "user", FlagKind.KillAgent => "agent", _ => null };
                if (entity is not null)
                {
                    keys.Add(RuleCatalog.AlertKey(RuleCatalog.SpendBreaker, entity, key.Subject));
                }
            }
        }

        return keys;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Evaluating the alerts of tenant {TenantId} failed.")]
    private static partial void LogTenantFailed(ILogger logger, string tenantId, Exception exception);
}
