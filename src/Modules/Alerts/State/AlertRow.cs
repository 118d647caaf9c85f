namespace Ops.Modules.Alerts.State;

/// <summary>One firing episode of an alert key (a row of <c>alerts.alerts</c>).</summary>
internal sealed class AlertRow
{
    public long Id { get; init; }
    public string TenantId { get; init; } = string.Empty;
    public string Key { get; init; } = string.Empty;
    public string Rule { get; init; } = string.Empty;
    public string? EntityType { get; init; }
    public string? EntityId { get; init; }
    public string State { get; set; } = string.Empty;
    public string Message { get; set; } = string.Empty;
    public decimal Value { get; set; }
    public decimal Threshold { get; set; }
    public DateOnly? PeriodStart { get; init; }
    public DateTimeOffset FiredAt { get; init; }
    public DateTimeOffset? ResolvedAt { get; set; }
    public bool Snoozed { get; set; }
    public bool Notified { get; set; }

    public const string Columns =
        "id, tenant_id, key, rule, entity_type, entity_id, state, message, value, threshold, period_start, fired_at, resolved_at, snoozed, notified";
}

/// <summary>The alert as the API and the notifications show it.</summary>
internal sealed record AlertSummary(
    long Id,
    string Key,
    string Rule,
    string? EntityType,
    string? EntityId,
    string State,
    string Message,
    decimal Value,
    decimal Threshold,
    DateTimeOffset FiredAt,
    DateTimeOffset? ResolvedAt,
    bool Snoozed)
{
    public static AlertSummary From(AlertRow row) => new(
        row.Id, row.Key, row.Rule, row.EntityType, row.EntityId, row.State, row.Message, row.Value, row.Threshold, row.FiredAt, row.ResolvedAt, row.Snoozed);
}
