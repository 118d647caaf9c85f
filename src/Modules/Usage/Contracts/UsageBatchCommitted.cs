namespace Ops.Modules.Usage.Contracts;

/// <summary>
/// Told, in process, after every committed ingestion batch (each instance sees the batches it committed itself).
/// The hook for what must react as events arrive — the Alerts module's spend breaker — without polling.
/// </summary>
public interface IUsageBatchObserver
{
    /// <summary>
    /// Called on the ingesting request's thread right after its commit: keep it short and non-blocking (hand the work
    /// to a channel or a background loop). Exceptions are logged and swallowed; the batch stays committed.
    /// </summary>
    void OnBatchCommitted(UsageBatchCommitted batch);
}

/// <summary>One committed batch: the newly stored events' cost per (user, agent). Duplicates are not in it.</summary>
public sealed record UsageBatchCommitted(string TenantId, DateTimeOffset CommittedAt, int Events, IReadOnlyList<UsageSpendDelta> Spend);

/// <summary>
/// What one (user, agent) pair spent in a batch. <see cref="FirstEventAt"/>/<see cref="LastEventAt"/> are the events'
/// own timestamps, so a sliding window can ignore backfills of old events.
/// </summary>
public sealed record UsageSpendDelta(
    string UserId,
    string? AgentId,
    decimal CostUsd,
    int Events,
    int UnpricedEvents,
    DateTimeOffset FirstEventAt,
    DateTimeOffset LastEventAt);
