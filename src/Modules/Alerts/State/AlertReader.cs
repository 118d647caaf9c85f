using Dapper;
using Npgsql;

namespace Ops.Modules.Alerts.State;

/// <summary>One delivery of an alert transition to a channel.</summary>
internal sealed record DeliveryView(Guid ChannelId, string ChannelName, string Event, string Status, int Attempts, string? LastError, DateTimeOffset? DeliveredAt);

/// <summary>An alert of the fired log, as the API returns it.</summary>
internal sealed record AlertView(
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
    bool Snoozed,
    IReadOnlyList<string> NotifiedChannels,
    IReadOnlyList<DeliveryView> Deliveries);

/// <summary>Reads the fired log, newest first, with each alert's deliveries.</summary>
internal sealed class AlertReader(NpgsqlDataSource dataSource)
{
    public async Task<(IReadOnlyList<AlertView> Items, long? NextCursor)> ListAsync(
        string tenantId, string? state, string? rule, long? cursor, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = (await connection.QueryAsync<AlertRow>(new CommandDefinition(
            $"""
            SELECT {AlertRow.Columns} FROM alerts.alerts
            WHERE tenant_id = @tenantId AND (@state::text IS NULL OR state = @state) AND (@rule::text IS NULL OR rule = @rule)
              AND (@cursor::bigint IS NULL OR id < @cursor)
            ORDER BY id DESC LIMIT @take
            """,
            new { tenantId, state, rule, cursor, take = limit + 1 }, cancellationToken: cancellationToken))).ToList();
        var next = rows.Count > limit ? rows[limit - 1].Id : (long?)null;
        var page = rows.Take(limit).ToList();
        return (await WithDeliveriesAsync(connection, tenantId, page, cancellationToken), next);
    }

    public async Task<IReadOnlyList<AlertView>> GetAsync(string tenantId, IReadOnlyList<long> ids, CancellationToken cancellationToken)
    {
        if (ids.Count == 0)
        {
            return [];
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = (await connection.QueryAsync<AlertRow>(new CommandDefinition(
            $"SELECT {AlertRow.Columns} FROM alerts.alerts WHERE tenant_id = @tenantId AND id = ANY(@ids) ORDER BY id DESC",
            new { tenantId, ids = ids.ToArray() }, cancellationToken: cancellationToken))).ToList();
        return await WithDeliveriesAsync(connection, tenantId, rows, cancellationToken);
    }

    private static async Task<IReadOnlyList<AlertView>> WithDeliveriesAsync(NpgsqlConnection connection, string tenantId, List<AlertRow> rows, CancellationToken cancellationToken)
    {
        var ids = rows.Select(r => r.Id).ToArray();
        var deliveries = (await connection.QueryAsync<DeliveryRow>(new CommandDefinition(
            """
            SELECT d.alert_id, d.channel_id, c.name AS channel_name, d.event, d.status, d.attempts, d.last_error, d.delivered_at
            FROM alerts.deliveries d JOIN alerts.channels c ON c.tenant_id = d.tenant_id AND c.id = d.channel_id
            WHERE d.tenant_id = @tenantId AND d.alert_id = ANY(@ids) ORDER BY d.id
            """,
            new { tenantId, ids }, cancellationToken: cancellationToken))).ToLookup(d => d.AlertId);
        return rows.Select(r =>
        {
            var own = deliveries[r.Id].Select(d => new DeliveryView(d.ChannelId, d.ChannelName, d.Event, d.Status, d.Attempts, d.LastError, d.DeliveredAt)).ToList();
            return new AlertView(r.Id, r.Key, r.Rule, r.EntityType, r.EntityId, r.State, r.Message, r.Value, r.Threshold, r.FiredAt, r.ResolvedAt, r.Snoozed,
                own.Select(d => d.ChannelName).Distinct(StringComparer.Ordinal).ToList(), own);
        }).ToList();
    }

    private sealed class DeliveryRow
    {
        public long AlertId { get; init; }
        public Guid ChannelId { get; init; }
        public string ChannelName { get; init; } = string.Empty;
        public string Event { get; init; } = string.Empty;
        public string Status { get; init; } = string.Empty;
        public int Attempts { get; init; }
        public string? LastError { get; init; }
        public DateTimeOffset? DeliveredAt { get; init; }
    }
}
