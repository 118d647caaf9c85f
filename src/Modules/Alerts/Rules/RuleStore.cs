using Dapper;
using Npgsql;

namespace Ops.Modules.Alerts.Rules;

/// <summary>The tenant's rules: the catalog's defaults merged with what the tenant changed (<c>alerts.rules</c>).</summary>
internal sealed class RuleStore(NpgsqlDataSource dataSource)
{
    public async Task<IReadOnlyDictionary<string, RuleSettings>> GetAsync(string tenantId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = (await connection.QueryAsync<RuleRow>(new CommandDefinition(
            "SELECT key, enabled, threshold, window_minutes, min_ratings FROM alerts.rules WHERE tenant_id = @tenantId",
            new { tenantId }, cancellationToken: cancellationToken))).ToDictionary(r => r.Key, StringComparer.Ordinal);
        return RuleCatalog.All.ToDictionary(
            d => d.Key,
            d => rows.TryGetValue(d.Key, out var r) ? r.ToSettings() : d.Defaults,
            StringComparer.Ordinal);
    }

    public static async Task<RuleSettings> GetForUpdateAsync(string tenantId, RuleDefinition definition, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var row = await connection.QuerySingleOrDefaultAsync<RuleRow>(new CommandDefinition(
            "SELECT key, enabled, threshold, window_minutes, min_ratings FROM alerts.rules WHERE tenant_id = @tenantId AND key = @key FOR UPDATE",
            new { tenantId, key = definition.Key }, transaction, cancellationToken: cancellationToken));
        return row?.ToSettings() ?? definition.Defaults;
    }

    public static Task SaveAsync(string tenantId, RuleSettings settings, DateTimeOffset at, string actor, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO alerts.rules (tenant_id, key, enabled, threshold, window_minutes, min_ratings, updated_at, updated_by)
            VALUES (@tenantId, @Key, @Enabled, @Threshold, @WindowMinutes, @MinRatings, @at, @actor)
            ON CONFLICT (tenant_id, key) DO UPDATE SET enabled = EXCLUDED.enabled, threshold = EXCLUDED.threshold,
                window_minutes = EXCLUDED.window_minutes, min_ratings = EXCLUDED.min_ratings,
                updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by
            """,
            new { tenantId, settings.Key, settings.Enabled, settings.Threshold, settings.WindowMinutes, settings.MinRatings, at, actor },
            transaction, cancellationToken: cancellationToken));

    private sealed class RuleRow
    {
        public string Key { get; init; } = string.Empty;
        public bool Enabled { get; init; }
        public decimal? Threshold { get; init; }
        public int? WindowMinutes { get; init; }
        public int? MinRatings { get; init; }

        public RuleSettings ToSettings() => new(Key, Enabled, Threshold, WindowMinutes, MinRatings);
    }
}
