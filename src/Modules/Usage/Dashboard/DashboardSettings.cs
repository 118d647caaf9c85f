using Dapper;
using Npgsql;

namespace Ops.Modules.Usage.Dashboard;

/// <summary>A tenant's card thresholds and display currency (<c>usage.dashboard_settings</c>; defaults without a row).</summary>
internal sealed record TenantDashboardSettings(
    int ErrorsThreshold,
    decimal LatencySloS,
    int TtftGoalMs,
    int TtftRedMs,
    decimal FeedbackGoal,
    decimal FeedbackRedBelow,
    string Currency,
    decimal Rate,
    DateTimeOffset? UpdatedAt,
    string? UpdatedBy)
{
    public static readonly TenantDashboardSettings Defaults = new(20, 3.0m, 800, 2000, 0.9m, 0.8m, "USD", 1m, null, null);
}

internal static class DashboardSettingsStore
{
    private const string Columns = "errors_threshold, latency_slo_s, ttft_goal_ms, ttft_red_ms, feedback_goal, feedback_red_below, currency, rate, updated_at, updated_by";

    public static async Task<TenantDashboardSettings> ReadAsync(
        NpgsqlConnection connection, string tenantId, CancellationToken cancellationToken, NpgsqlTransaction? transaction = null, bool forUpdate = false)
    {
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM usage.dashboard_settings WHERE tenant_id = @tenantId{(forUpdate ? " FOR UPDATE" : string.Empty)}",
            new { tenantId },
            transaction,
            cancellationToken: cancellationToken));
        return row?.ToSettings() ?? TenantDashboardSettings.Defaults;
    }

    public static async Task<TenantDashboardSettings> SaveAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string tenantId, TenantDashboardSettings s, CancellationToken cancellationToken)
    {
        var row = await connection.QuerySingleAsync<Row>(new CommandDefinition(
            $"""
            INSERT INTO usage.dashboard_settings (tenant_id, {Columns})
            VALUES (@tenantId, @ErrorsThreshold, @LatencySloS, @TtftGoalMs, @TtftRedMs, @FeedbackGoal, @FeedbackRedBelow, @Currency, @Rate, @UpdatedAt, @UpdatedBy)
            ON CONFLICT (tenant_id) DO UPDATE SET
                errors_threshold = excluded.errors_threshold, latency_slo_s = excluded.latency_slo_s, ttft_goal_ms = excluded.ttft_goal_ms,
                ttft_red_ms = excluded.ttft_red_ms, feedback_goal = excluded.feedback_goal, feedback_red_below = excluded.feedback_red_below,
                currency = excluded.currency, rate = excluded.rate, updated_at = excluded.updated_at, updated_by = excluded.updated_by
            RETURNING {Columns}
            """,
            new { tenantId, s.ErrorsThreshold, s.LatencySloS, s.TtftGoalMs, s.TtftRedMs, s.FeedbackGoal, s.FeedbackRedBelow, s.Currency, s.Rate, s.UpdatedAt, s.UpdatedBy },
            transaction,
            cancellationToken: cancellationToken));
        return row.ToSettings();
    }

    private sealed class Row
    {
        public int ErrorsThreshold { get; init; }
        public decimal LatencySloS { get; init; }
        public int TtftGoalMs { get; init; }
        public int TtftRedMs { get; init; }
        public decimal FeedbackGoal { get; init; }
        public decimal FeedbackRedBelow { get; init; }
        public string Currency { get; init; } = string.Empty;
        public decimal Rate { get; init; }
        public DateTimeOffset UpdatedAt { get; init; }
        public string UpdatedBy { get; init; } = string.Empty;

        public TenantDashboardSettings ToSettings() => new(
            ErrorsThreshold, Reading.Money.Normalize(LatencySloS), TtftGoalMs, TtftRedMs, Reading.Money.Normalize(FeedbackGoal),
            Reading.Money.Normalize(FeedbackRedBelow), Currency, Reading.Money.Normalize(Rate), UpdatedAt, UpdatedBy);
    }
}
