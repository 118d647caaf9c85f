namespace Ops.Modules.Usage.Contracts;

/// <summary>Whose spend a budget limits. Wire: <c>tenant</c> | <c>agent</c> | <c>user</c>.</summary>
public enum BudgetScope
{
    Tenant,
    Agent,
    User,
}

/// <summary>The period a budget covers: the UTC day or the UTC calendar month. Wire: <c>day</c> | <c>month</c>.</summary>
public enum BudgetPeriod
{
    Day,
    Month,
}

/// <summary>Wire: <c>ok</c> | <c>warning</c> | <c>exceeded</c> | <c>no_limit</c>.</summary>
public enum BudgetState
{
    Ok,
    Warning,
    Exceeded,
    NoLimit,
}

/// <summary>One budgeted entity's status for its current period (UTC day or UTC calendar month).</summary>
/// <param name="PeriodStart">Inclusive.</param>
/// <param name="PeriodEnd">Exclusive.</param>
/// <param name="WarningPct">The percentage of the limit from which the state is <see cref="BudgetState.Warning"/> (default 80).</param>
/// <param name="Percent">100 × current / limit, rounded to 2 places.</param>
/// <param name="State">Exceeded at ≥ 100 %, warning at ≥ <paramref name="WarningPct"/>, else ok (compared before rounding).</param>
public sealed record BudgetStatus(
    BudgetScope Scope,
    string Id,
    BudgetPeriod Period,
    DateOnly PeriodStart,
    DateOnly PeriodEnd,
    decimal LimitUsd,
    decimal WarningPct,
    decimal CurrentCostUsd,
    decimal Percent,
    BudgetState State);

/// <summary>Budget status for other modules (Alerts, KillSwitch), without touching the usage schema.</summary>
public interface IUsageBudgets
{
    /// <summary>Every budget of the tenant with its status now (by the injected TimeProvider). No-limit entities are not listed.</summary>
    Task<IReadOnlyList<BudgetStatus>> GetStatusAsync(string tenantId, CancellationToken cancellationToken);
}
