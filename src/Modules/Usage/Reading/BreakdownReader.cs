using Dapper;
using Npgsql;

namespace Ops.Modules.Usage.Reading;

/// <summary>One group of a breakdown: its key(s) ('' = none) and its totals.</summary>
internal sealed class GroupTotals
{
    public string Key { get; init; } = string.Empty;
    public string Key2 { get; init; } = string.Empty;
    public long Requests { get; init; }
    public long TokensIn { get; init; }
    public long TokensOut { get; init; }
    public decimal CostUsd { get; init; }
    public long Errors { get; init; }
    public DateTimeOffset? FirstTs { get; init; }
    public DateTimeOffset? LastTs { get; init; }

    public long Tokens => TokensIn + TokensOut;

    public decimal Cost => Money.Normalize(CostUsd);
}

internal sealed record ActionErrors(string Action, long Errors, long CriticalErrors);

/// <summary>
/// The by-agent/provider/channel/session/user and model-mix breakdowns: <see cref="UsageQuery.FactsSql"/> grouped by a
/// dimension, cost descending; and errors by action from <c>error_hourly</c>.
/// </summary>
internal sealed class BreakdownReader(NpgsqlDataSource dataSource)
{
    public enum Dimension
    {
        Agent,
        Provider,
        Channel,
        Session,
        User,
        Model,
    }

    public async Task<IReadOnlyList<GroupTotals>> GroupAsync(UsageQuery query, Dimension by, int? top, CancellationToken cancellationToken)
    {
        var (keys, withUsers, where) = by switch
        {
            Dimension.Agent => ("agent_id AS key, ''::text AS key2", false, string.Empty),
            Dimension.Provider => ("provider AS key, ''::text AS key2", false, string.Empty),
            Dimension.Channel => ("channel AS key, ''::text AS key2", false, string.Empty),
            Dimension.Session => ("session_id AS key, ''::text AS key2", true, "WHERE session_id <> ''"),
            Dimension.User => ("user_id AS key, ''::text AS key2", true, string.Empty),
            _ => ("model AS key, provider AS key2", false, string.Empty),
        };
        var withAgentAndChannel = by is Dimension.Agent or Dimension.Channel;
        var parameters = query.Parameters();
        parameters.Add("top", top);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<GroupTotals>(new CommandDefinition(
            $"""
            WITH f AS ({query.FactsSql(withUsers, withAgentAndChannel, userTotalsOnly: by == Dimension.User)})
            SELECT {keys}, sum(requests)::bigint AS requests, sum(tokens_in)::bigint AS tokens_in, sum(tokens_out)::bigint AS tokens_out,
                   sum(cost_usd) AS cost_usd, sum(errors)::bigint AS errors, min(first_ts) AS first_ts, max(last_ts) AS last_ts
            FROM f {where}
            GROUP BY 1, 2
            ORDER BY sum(cost_usd) DESC, sum(requests) DESC, 1, 2
            LIMIT @top
            """,
            parameters,
            cancellationToken: cancellationToken));
        return rows.ToList();
    }

    /// <summary>
    /// Errors by action, errors descending: <c>error_hourly</c> over the window's hours; with user or session filters
    /// (not kept there) raw events, which the caller allows for short windows only.
    /// </summary>
    public async Task<IReadOnlyList<ActionErrors>> ErrorsByActionAsync(UsageQuery query, CancellationToken cancellationToken)
    {
        var sql = query.Filters.ByUserOrSession
            ? $"""
              SELECT action, count(*) AS errors, count(*) FILTER (WHERE severity = 'critical') AS critical_errors
              FROM usage.events WHERE tenant_id = @tenant AND ts >= @from AND ts < @to AND is_error{query.DimensionFilters("")}{query.UserFilters("")}
              GROUP BY action ORDER BY 2 DESC, 1
              """
            : $"""
              SELECT action, sum(errors)::bigint AS errors, coalesce(sum(errors) FILTER (WHERE severity = 'critical'), 0)::bigint AS critical_errors
              FROM usage.error_hourly WHERE tenant_id = @tenant AND hour >= @from AND hour < @to{query.DimensionFilters("")}
              GROUP BY action ORDER BY 2 DESC, 1
              """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<(string Action, long Errors, long Critical)>(new CommandDefinition(sql, query.Parameters(), cancellationToken: cancellationToken));
        return rows.Select(r => new ActionErrors(r.Action, r.Errors, r.Critical)).ToList();
    }
}
