using Dapper;
using Npgsql;
using Ops.Modules.Usage.Contracts;

namespace Ops.Modules.Usage.Reading;

/// <summary>Short-window spend from raw events (index (tenant_id, ts)); unpriced counts from the hourly rollup.</summary>
internal sealed class UsageSpendReader(NpgsqlDataSource dataSource) : IUsageSpendReader
{
    public async Task<SubjectSpend> GetSpendAsync(string tenantId, SpendSubject subject, string id, DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleAsync<SpendRow>(new CommandDefinition(
            $"""
            SELECT @id AS id, coalesce(sum(cost_usd), 0) AS cost_usd, count(*) AS events
            FROM usage.events WHERE tenant_id = @tenantId AND ts >= @since AND {Column(subject)} = @id
            """,
            new { tenantId, id, since },
            cancellationToken: cancellationToken));
        return row.ToSpend();
    }

    public async Task<IReadOnlyList<SubjectSpend>> GetTopSpendAsync(string tenantId, SpendSubject subject, DateTimeOffset since, int top, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(top);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var column = Column(subject);
        var rows = await connection.QueryAsync<SpendRow>(new CommandDefinition(
            $"""
            SELECT {column} AS id, sum(cost_usd) AS cost_usd, count(*) AS events
            FROM usage.events WHERE tenant_id = @tenantId AND ts >= @since AND {column} IS NOT NULL
            GROUP BY {column} ORDER BY sum(cost_usd) DESC, {column} LIMIT @top
            """,
            new { tenantId, since, top },
            cancellationToken: cancellationToken));
        return rows.Select(r => r.ToSpend()).ToList();
    }

    public async Task<IReadOnlyList<UnpricedModel>> GetUnpricedModelsAsync(string tenantId, DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<UnpricedRow>(new CommandDefinition(
            """
            SELECT model, provider, sum(unpriced_requests) AS events
            FROM usage.hourly_model_rollup WHERE tenant_id = @tenantId AND hour >= date_trunc('hour', @since::timestamptz, 'UTC')
            GROUP BY model, provider HAVING sum(unpriced_requests) > 0 ORDER BY model, provider
            """,
            new { tenantId, since },
            cancellationToken: cancellationToken));
        return rows.Select(r => new UnpricedModel(r.Model, r.Provider, r.Events)).ToList();
    }

    private static string Column(SpendSubject subject) => subject switch
    {
        SpendSubject.User => "user_id",
        SpendSubject.Agent => "agent_id",
        _ => throw new ArgumentOutOfRangeException(nameof(subject), subject, null),
    };

    private sealed class SpendRow
    {
        public string Id { get; init; } = string.Empty;
        public decimal CostUsd { get; init; }
        public long Events { get; init; }

        public SubjectSpend ToSpend() => new(Id, Money.Normalize(CostUsd), Events);
    }

    private sealed class UnpricedRow
    {
        public string Model { get; init; } = string.Empty;
        public string Provider { get; init; } = string.Empty;
        public long Events { get; init; }
    }
}
