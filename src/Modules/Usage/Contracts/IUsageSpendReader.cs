namespace Ops.Modules.Usage.Contracts;

/// <summary>Whose spend to sum: per end user or per agent.</summary>
public enum SpendSubject
{
    User,
    Agent,
}

/// <summary>Spend of one user or agent over a window.</summary>
public sealed record SubjectSpend(string Id, decimal CostUsd, long Events);

/// <summary>Events whose model had no price on their day, per model (to alert on, then reprice).</summary>
public sealed record UnpricedModel(string Model, string Provider, long Events);

/// <summary>
/// Read access to recent usage for other modules (Alerts, KillSwitch), without touching the usage schema. Windows
/// are by event time and meant to be short (minutes to hours): they read raw events through (tenant_id, ts).
/// </summary>
public interface IUsageSpendReader
{
    /// <summary>Spend since <paramref name="since"/> of one user or agent of the tenant (0 when none).</summary>
    Task<SubjectSpend> GetSpendAsync(string tenantId, SpendSubject subject, string id, DateTimeOffset since, CancellationToken cancellationToken);

    /// <summary>The <paramref name="top"/> users or agents by spend since <paramref name="since"/>, highest first.</summary>
    Task<IReadOnlyList<SubjectSpend>> GetTopSpendAsync(string tenantId, SpendSubject subject, DateTimeOffset since, int top, CancellationToken cancellationToken);

    /// <summary>Unpriced events since <paramref name="since"/> (from the hourly rollup, so any window is cheap).</summary>
    Task<IReadOnlyList<UnpricedModel>> GetUnpricedModelsAsync(string tenantId, DateTimeOffset since, CancellationToken cancellationToken);
}
