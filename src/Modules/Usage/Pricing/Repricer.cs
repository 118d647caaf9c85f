using Dapper;
using Npgsql;

namespace Ops.Modules.Usage.Pricing;

/// <param name="Models">Only these models' events (null: every model).</param>
internal sealed record RepriceRequest(string TenantId, DateOnly From, DateOnly To, PricingVersion Version, IReadOnlyList<string>? Models, string? Reason, string Actor, DateTimeOffset At);

internal sealed record RepriceResult(long AssignmentId, long Events, decimal CostBeforeUsd, decimal CostAfterUsd, IReadOnlyList<VersionCost> Before);

internal sealed class VersionCost
{
    public string? PricingVersion { get; init; }
    public long Events { get; init; }
    public decimal CostUsd { get; init; }
}

/// <summary>
/// Reprices a tenant's days with a named version, in the caller's transaction (ADR 0022): every event of the range
/// (of the named models, or all) is priced as if the version were in effect — models it does not list become
/// unpriced — then the cost, unpriced count and pricing_version of every rollup row they feed is recomputed from
/// those events (rollups hold exactly the raw events, and the range is within raw retention). An assignment row
/// makes later events of those days use the version too. Exclusive (tenant, day) locks keep ingestion of the same
/// days out meanwhile; other days ingest as usual.
/// </summary>
internal static class Repricer
{
    private const string RangeFilter = "tenant_id = @tenant AND ts >= @start AND ts < @end AND (@models::text[] IS NULL OR model = ANY(@models))";

    /// <summary>The range's events already in the rollups; the fold adds the others later, at their new price.</summary>
    private const string FoldedFilter = RangeFilter + " AND txid < @folded::text::xid8";

    public static async Task<RepriceResult> RepriceAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, RepriceRequest request, CancellationToken cancellationToken)
    {
        var parameters = new DynamicParameters(new
        {
            tenant = request.TenantId,
            start = request.From.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc),
            end = request.To.AddDays(1).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc),
            models = request.Models?.ToArray(),
            listed = request.Version.Models.Keys.ToArray(),
            scope = request.Version.TenantId ?? PricingCatalog.PlatformScope,
            version = request.Version.Id,
            firstDay = request.From.DayNumber,
            lastDay = request.To.DayNumber,
        });

        async Task<T> Scalar<T>(string sql) =>
            await connection.ExecuteScalarAsync<T>(new CommandDefinition(sql, parameters, transaction, cancellationToken: cancellationToken)) ?? throw new InvalidOperationException(sql);

        async Task Execute(string sql) =>
            await connection.ExecuteAsync(new CommandDefinition(sql, parameters, transaction, commandTimeout: 0, cancellationToken: cancellationToken));

        await Scalar<long>("SELECT count(*) FROM (SELECT pg_advisory_xact_lock(hashtext(@tenant), d) FROM generate_series(@firstDay, @lastDay) AS d ORDER BY d) AS locks");

        // Holding the fold's watermark (shared) keeps the set of folded events fixed until we commit.
        await Execute("INSERT INTO usage.rollup_watermarks (tenant_id, folded_below) VALUES (@tenant, '0') ON CONFLICT DO NOTHING");
        var folded = await Scalar<long>("SELECT folded_below::text::bigint FROM usage.rollup_watermarks WHERE tenant_id = @tenant FOR SHARE");
        parameters.Add("folded", folded);

        var before = (await connection.QueryAsync<VersionCost>(new CommandDefinition(
            $"SELECT pricing_version, count(*) AS events, sum(cost_usd) AS cost_usd FROM usage.events WHERE {RangeFilter} GROUP BY pricing_version ORDER BY pricing_version",
            parameters,
            transaction,
            cancellationToken: cancellationToken))).ToList();

        await Execute("""
            UPDATE usage.events e
            SET cost_usd = usage.cost_of(p, e.tokens_in, e.tokens_out, e.cache_read_tokens, e.cache_write_tokens),
                pricing_version = p.version,
                unpriced = false
            FROM usage.pricing_model_prices p
            WHERE p.tenant_id = @scope AND p.version = @version AND p.model = e.model
              AND e.tenant_id = @tenant AND e.ts >= @start AND e.ts < @end AND (@models::text[] IS NULL OR e.model = ANY(@models))
            """);
        await Execute($"UPDATE usage.events SET cost_usd = 0, pricing_version = @version, unpriced = true WHERE {RangeFilter} AND model <> ALL(@listed)");

        // Each rollup row of these days and models gets the sums of its (now repriced) folded events.
        await Execute($"""
            UPDATE usage.hourly_rollup r SET cost_usd = s.cost, unpriced_requests = s.unpriced, pricing_version = @version
            FROM (SELECT date_trunc('hour', ts, 'UTC') AS hour, model, provider, coalesce(agent_id, '') AS agent_id, coalesce(channel, '') AS channel,
                         sum(cost_usd) AS cost, count(*) FILTER (WHERE unpriced) AS unpriced
                  FROM usage.events WHERE {FoldedFilter} GROUP BY 1, 2, 3, 4, 5) s
            WHERE r.tenant_id = @tenant AND r.hour = s.hour AND r.model = s.model AND r.provider = s.provider AND r.agent_id = s.agent_id AND r.channel = s.channel
            """);
        await Execute($"""
            UPDATE usage.daily_rollup r SET cost_usd = s.cost, unpriced_requests = s.unpriced, pricing_version = @version
            FROM (SELECT (ts AT TIME ZONE 'UTC')::date AS day, model, provider, coalesce(agent_id, '') AS agent_id, coalesce(channel, '') AS channel,
                         sum(cost_usd) AS cost, count(*) FILTER (WHERE unpriced) AS unpriced
                  FROM usage.events WHERE {FoldedFilter} GROUP BY 1, 2, 3, 4, 5) s
            WHERE r.tenant_id = @tenant AND r.day = s.day AND r.model = s.model AND r.provider = s.provider AND r.agent_id = s.agent_id AND r.channel = s.channel
            """);
        await Execute($"""
            UPDATE usage.hourly_model_rollup r SET cost_usd = s.cost, unpriced_requests = s.unpriced, pricing_version = @version
            FROM (SELECT date_trunc('hour', ts, 'UTC') AS hour, model, provider, sum(cost_usd) AS cost, count(*) FILTER (WHERE unpriced) AS unpriced
                  FROM usage.events WHERE {FoldedFilter} GROUP BY 1, 2, 3) s
            WHERE r.tenant_id = @tenant AND r.hour = s.hour AND r.model = s.model AND r.provider = s.provider
            """);
        await Execute($"""
            UPDATE usage.daily_model_rollup r SET cost_usd = s.cost, unpriced_requests = s.unpriced, pricing_version = @version
            FROM (SELECT (ts AT TIME ZONE 'UTC')::date AS day, model, provider, sum(cost_usd) AS cost, count(*) FILTER (WHERE unpriced) AS unpriced
                  FROM usage.events WHERE {FoldedFilter} GROUP BY 1, 2, 3) s
            WHERE r.tenant_id = @tenant AND r.day = s.day AND r.model = s.model AND r.provider = s.provider
            """);
        await Execute($"""
            UPDATE usage.usage_daily r SET cost_usd = s.cost, unpriced_requests = s.unpriced, pricing_version = @version
            FROM (SELECT user_id, (ts AT TIME ZONE 'UTC')::date AS day, model, sum(cost_usd) AS cost, count(*) FILTER (WHERE unpriced) AS unpriced
                  FROM usage.events WHERE {FoldedFilter} GROUP BY 1, 2, 3) s
            WHERE r.tenant_id = @tenant AND r.user_id = s.user_id AND r.day = s.day AND r.model = s.model
            """);
        await Execute($"""
            UPDATE usage.activity_daily r SET cost_usd = s.cost, unpriced_requests = s.unpriced, pricing_version = @version
            FROM (SELECT (ts AT TIME ZONE 'UTC')::date AS day, user_id, coalesce(session_id, '') AS session_id, coalesce(agent_id, '') AS agent_id,
                         coalesce(channel, '') AS channel, model, provider, sum(cost_usd) AS cost, count(*) FILTER (WHERE unpriced) AS unpriced
                  FROM usage.events WHERE {FoldedFilter} GROUP BY 1, 2, 3, 4, 5, 6, 7) s
            WHERE r.tenant_id = @tenant AND r.day = s.day AND r.user_id = s.user_id AND r.session_id = s.session_id AND r.agent_id = s.agent_id
              AND r.channel = s.channel AND r.model = s.model AND r.provider = s.provider
            """);

        var after = await connection.QuerySingleAsync<VersionCost>(new CommandDefinition(
            $"SELECT count(*) AS events, coalesce(sum(cost_usd), 0) AS cost_usd FROM usage.events WHERE {RangeFilter}",
            parameters,
            transaction,
            cancellationToken: cancellationToken));
        var costBefore = before.Sum(b => b.CostUsd);
        var assignmentId = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            """
            INSERT INTO usage.pricing_assignments (tenant_id, from_day, to_day, version, models, assigned_at, assigned_by, reason, events, cost_before_usd, cost_after_usd)
            VALUES (@tenant, @from, @to, @version, @models, @at, @actor, @reason, @events, @costBefore, @costAfter)
            RETURNING id
            """,
            new
            {
                tenant = request.TenantId,
                from = request.From,
                to = request.To,
                version = request.Version.Id,
                models = request.Models?.ToArray(),
                at = request.At,
                actor = request.Actor,
                reason = request.Reason,
                events = after.Events,
                costBefore,
                costAfter = after.CostUsd,
            },
            transaction,
            cancellationToken: cancellationToken));

        return new RepriceResult(assignmentId, after.Events, costBefore, after.CostUsd, before);
    }
}
