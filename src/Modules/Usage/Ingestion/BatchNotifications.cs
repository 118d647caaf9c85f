using Ops.Modules.Usage.Contracts;

namespace Ops.Modules.Usage.Ingestion;

internal static class BatchNotifications
{
    /// <summary>The committed events' spend per (user, agent), for <see cref="IUsageBatchObserver"/>s.</summary>
    public static UsageBatchCommitted Summarize(string tenantId, DateTimeOffset committedAt, IReadOnlyList<UsageEvent> stored)
    {
        var spend = stored
            .GroupBy(e => (e.UserId, e.AgentId))
            .Select(g => new UsageSpendDelta(
                g.Key.UserId,
                g.Key.AgentId,
                g.Sum(e => e.CostUsd),
                g.Count(),
                g.Count(e => e.Unpriced),
                g.Min(e => e.Timestamp),
                g.Max(e => e.Timestamp)))
            .ToList();
        return new UsageBatchCommitted(tenantId, committedAt, stored.Count, spend);
    }
}
