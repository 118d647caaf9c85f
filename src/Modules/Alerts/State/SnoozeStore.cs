using Dapper;
using Npgsql;

namespace Ops.Modules.Alerts.State;

/// <summary>A snooze of an alert key (or of a whole rule: every entity's alert).</summary>
internal sealed record Snooze(string Key, DateTimeOffset Until, string Reason, string SnoozedBy, DateTimeOffset SnoozedAt, string? FollowUpNote, DateTimeOffset? NotedAt);

internal static class SnoozeStore
{
    private const string Columns =
        "key AS \"Key\", until AS \"Until\", reason AS \"Reason\", snoozed_by AS \"SnoozedBy\", snoozed_at AS \"SnoozedAt\", follow_up_note AS \"FollowUpNote\", noted_at AS \"NotedAt\"";

    /// <summary>The key's snooze while it applies (locked for the caller's transaction); null when there is none or it expired.</summary>
    public static Task<Snooze?> GetActiveForUpdateAsync(string tenantId, string key, DateTimeOffset now, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken) =>
        connection.QuerySingleOrDefaultAsync<Snooze>(new CommandDefinition(
            $"SELECT {Columns} FROM alerts.snoozes WHERE tenant_id = @tenantId AND key = @key AND until > @now FOR UPDATE",
            new { tenantId, key, now }, transaction, cancellationToken: cancellationToken));

    /// <summary>
    /// Runs <paramref name="change"/> on the key's snooze in force, locked, in one transaction it commits; false (nothing
    /// run) when the key is not snoozed. What unsnooze and the follow-up note share.
    /// </summary>
    public static async Task<bool> ChangeActiveAsync(
        NpgsqlDataSource dataSource,
        string tenantId,
        string key,
        DateTimeOffset now,
        Func<Snooze, NpgsqlConnection, NpgsqlTransaction, Task> change,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var active = await GetActiveForUpdateAsync(tenantId, key, now, connection, transaction, cancellationToken);
        if (active is null)
        {
            return false;
        }

        await change(active, connection, transaction);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public static Task SaveAsync(string tenantId, Snooze snooze, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO alerts.snoozes (tenant_id, key, until, reason, snoozed_by, snoozed_at, follow_up_note, noted_at)
            VALUES (@tenantId, @Key, @Until, @Reason, @SnoozedBy, @SnoozedAt, @FollowUpNote, @NotedAt)
            ON CONFLICT (tenant_id, key) DO UPDATE SET until = EXCLUDED.until, reason = EXCLUDED.reason, snoozed_by = EXCLUDED.snoozed_by,
                snoozed_at = EXCLUDED.snoozed_at, follow_up_note = EXCLUDED.follow_up_note, noted_at = EXCLUDED.noted_at
            """,
            new { tenantId, snooze.Key, snooze.Until, snooze.Reason, snooze.SnoozedBy, snooze.SnoozedAt, snooze.FollowUpNote, snooze.NotedAt },
            transaction, cancellationToken: cancellationToken));

    public static Task DeleteAsync(string tenantId, string key, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM alerts.snoozes WHERE tenant_id = @tenantId AND key = @key", new { tenantId, key }, transaction, cancellationToken: cancellationToken));

    public static async Task<IReadOnlyList<Snooze>> ListActiveAsync(NpgsqlDataSource dataSource, string tenantId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<Snooze>(new CommandDefinition(
            $"SELECT {Columns} FROM alerts.snoozes WHERE tenant_id = @tenantId AND until > @now ORDER BY snoozed_at, key",
            new { tenantId, now }, cancellationToken: cancellationToken))).ToList();
    }
}
