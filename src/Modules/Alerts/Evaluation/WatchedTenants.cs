using System.Collections.Concurrent;
using Dapper;
using Npgsql;

namespace Ops.Modules.Alerts.Evaluation;

/// <summary>
/// The tenants the evaluation job visits, in the module's own schema: every tenant that ingested usage (the spend
/// breaker's observer sees every committed batch) or configured alerts. A tenant stays watched, so a tenant whose
/// traffic stopped still gets its DAU drop.
/// </summary>
internal sealed class WatchedTenants(NpgsqlDataSource dataSource, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, bool> _known = new(StringComparer.Ordinal);

    public async Task EnsureAsync(string tenantId, CancellationToken cancellationToken)
    {
        if (_known.ContainsKey(tenantId))
        {
            return;
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO alerts.watched_tenants (tenant_id, first_seen_at) VALUES (@tenantId, @now) ON CONFLICT (tenant_id) DO NOTHING",
            new { tenantId, now = time.GetUtcNow() }, cancellationToken: cancellationToken));
        _known[tenantId] = true;
    }

    public async Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT tenant_id FROM alerts.watched_tenants ORDER BY tenant_id", cancellationToken: cancellationToken))).ToList();
    }
}
