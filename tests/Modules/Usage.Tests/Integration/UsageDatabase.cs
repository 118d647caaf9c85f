using Dapper;
using Npgsql;

namespace Ops.Modules.Usage.Tests.Integration;

/// <summary>Reads what the Api stored, straight from the usage schema (part 1 has no read endpoints yet).</summary>
internal sealed class UsageDatabase(string connectionString)
{
    public async Task<T> ScalarAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        return (await connection.ExecuteScalarAsync<T>(sql, parameters))!;
    }

    public async Task<List<T>> QueryAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        return (await connection.QueryAsync<T>(sql, parameters)).ToList();
    }

    public async Task<int> ExecuteAsync(string sql, object? parameters = null)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        return await connection.ExecuteAsync(sql, parameters);
    }

    public Task<long> EventCountAsync(string tenant) =>
        ScalarAsync<long>("SELECT count(*) FROM usage.events WHERE tenant_id = @tenant", new { tenant });

    /// <summary>Every rollup's request total for the tenant: each must equal the number of distinct events ever stored.</summary>
    public async Task<(long Hourly, long Daily, long UsageDaily, long Activity)> RollupRequestsAsync(string tenant)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        return await connection.QuerySingleAsync<(long, long, long, long)>(
            """
            SELECT (SELECT coalesce(sum(requests), 0) FROM usage.hourly_rollup WHERE tenant_id = @tenant)::bigint,
                   (SELECT coalesce(sum(requests), 0) FROM usage.daily_rollup WHERE tenant_id = @tenant)::bigint,
                   (SELECT coalesce(sum(requests), 0) FROM usage.usage_daily WHERE tenant_id = @tenant)::bigint,
                   (SELECT coalesce(sum(requests), 0) FROM usage.activity_daily WHERE tenant_id = @tenant)::bigint
            """,
            new { tenant });
    }
}
