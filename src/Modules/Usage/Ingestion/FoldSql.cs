namespace Ops.Modules.Usage.Ingestion;

/// <summary>
/// The fold of one chunk of events into every rollup, as one statement: the chunk is read once (a materialized CTE)
/// and each rollup is upserted set-based from it, so Postgres aggregates in place and no event travels to the Api.
/// Hash aggregations over the chunk are the cost, so each is done once: the daily rollup is built from the hourly
/// deltas (not from the events again), and DAU from the per-user deltas.
/// Sketches: the chunk's (key, bucket) counts plus the stored sketches' buckets, summed per bucket and packed back
/// into sorted <c>{bucket, count}</c> pairs — the same merge as <c>usage.sketch_merge</c>, for all rows at once.
/// Sub-statements see the rollups as they were before the statement, and nothing else writes a tenant's rollups
/// while its fold holds the watermark row, so "stored" is exactly what the upsert replaces.
/// Parameters: @tenant, @low and @end (txid bounds, bigint), @now.
/// </summary>
internal static class FoldSql
{
    private const string Dimensions = "model, provider, agent_id, channel";

    /// <summary>The tenant-wide grain of the model rollups (ADR 0027).</summary>
    private const string ModelDimensions = "model, provider";

    public static readonly string Chunk = $$"""
        WITH ev AS MATERIALIZED (
            SELECT date_trunc('hour', ts, 'UTC') AS hour, ts, user_id, model, provider, action,
                   coalesce(session_id, '') AS session_id, coalesce(agent_id, '') AS agent_id, coalesce(channel, '') AS channel,
                   tokens_in, tokens_out, cache_read_tokens, cache_write_tokens, latency_ms, ttft_ms,
                   usage.sketch_bucket(latency_ms) AS latency_bucket, usage.sketch_bucket(ttft_ms) AS ttft_bucket,
                   is_error, is_error AND severity = 'critical' AS is_critical, coalesce(severity, '') AS severity,
                   coalesce(error_type, '') AS error_type, cost_usd, coalesce(reported_cost_usd, 0) AS reported_cost_usd, unpriced,
                   feedback, pricing_version
            FROM usage.events
            WHERE tenant_id = @tenant AND txid >= @low::text::xid8 AND txid < @end::text::xid8
        ),
        hourly_counts AS MATERIALIZED (
            SELECT hour AS t, {{Dimensions}}, count(*) AS requests, sum(tokens_in) AS tokens_in, sum(tokens_out) AS tokens_out,
                   sum(cache_read_tokens) AS cache_read, sum(cache_write_tokens) AS cache_write, sum(cost_usd) AS cost,
                   sum(reported_cost_usd) AS reported, count(*) FILTER (WHERE unpriced) AS unpriced, count(*) FILTER (WHERE is_error) AS errors,
                   count(*) FILTER (WHERE is_critical) AS critical, count(*) FILTER (WHERE feedback = 'up') AS up,
                   count(*) FILTER (WHERE feedback = 'down') AS down, count(latency_ms) AS latency_count,
                   coalesce(sum(latency_ms), 0) AS latency_sum, count(ttft_ms) AS ttft_count, coalesce(sum(ttft_ms), 0) AS ttft_sum,
                   max(pricing_version) AS version
            FROM ev GROUP BY hour, {{Dimensions}}
        ),
        -- The chunk's sketch buckets per hourly key; kind 0 = latency, 1 = TTFT.
        hourly_buckets AS MATERIALIZED (
            SELECT hour AS t, {{Dimensions}}, 0 AS kind, latency_bucket AS bucket, count(*) AS c
            FROM ev WHERE latency_ms IS NOT NULL GROUP BY hour, {{Dimensions}}, latency_bucket
            UNION ALL
            SELECT hour, {{Dimensions}}, 1, ttft_bucket, count(*)
            FROM ev WHERE ttft_ms IS NOT NULL GROUP BY hour, {{Dimensions}}, ttft_bucket
        ),
        daily_counts AS MATERIALIZED ({{Regroup("hourly_counts", "(t AT TIME ZONE 'UTC')::date", Dimensions)}}),
        daily_buckets AS ({{RegroupBuckets("hourly_buckets", "(t AT TIME ZONE 'UTC')::date", Dimensions)}}),
        hourly_model_counts AS MATERIALIZED ({{Regroup("hourly_counts", "t", ModelDimensions)}}),
        hourly_model_buckets AS ({{RegroupBuckets("hourly_buckets", "t", ModelDimensions)}}),
        daily_model_counts AS MATERIALIZED ({{Regroup("daily_counts", "t", ModelDimensions)}}),
        daily_model_buckets AS ({{RegroupBuckets("daily_buckets", "t", ModelDimensions)}}),
        {{Level("hourly", "hour", "hourly_rollup", Dimensions)}},
        {{Level("daily", "day", "daily_rollup", Dimensions)}},
        {{Level("hourly_model", "hour", "hourly_model_rollup", ModelDimensions)}},
        {{Level("daily_model", "day", "daily_model_rollup", ModelDimensions)}},
        user_days AS MATERIALIZED (
            SELECT user_id, (hour AT TIME ZONE 'UTC')::date AS day, model, sum(tokens_in) AS tokens_in, sum(tokens_out) AS tokens_out,
                   sum(cache_read_tokens) AS cache_read, sum(cache_write_tokens) AS cache_write, count(*) AS requests,
                   count(*) FILTER (WHERE is_error) AS errors, count(*) FILTER (WHERE unpriced) AS unpriced, sum(cost_usd) AS cost,
                   max(pricing_version) AS version, min(ts) AS first_ts
            FROM ev GROUP BY user_id, 2, model
        ),
        usage_daily AS (
            INSERT INTO usage.usage_daily AS r (tenant_id, user_id, day, model, tokens_in, tokens_out, cache_read_tokens, cache_write_tokens,
                requests, errors, unpriced_requests, cost_usd, pricing_version, updated_at)
            SELECT @tenant, user_id, day, model, tokens_in, tokens_out, cache_read, cache_write, requests, errors, unpriced, cost, version, @now
            FROM user_days
            ON CONFLICT (tenant_id, user_id, day, model) DO UPDATE SET
                tokens_in = r.tokens_in + excluded.tokens_in,
                tokens_out = r.tokens_out + excluded.tokens_out,
                cache_read_tokens = r.cache_read_tokens + excluded.cache_read_tokens,
                cache_write_tokens = r.cache_write_tokens + excluded.cache_write_tokens,
                requests = r.requests + excluded.requests,
                errors = r.errors + excluded.errors,
                unpriced_requests = r.unpriced_requests + excluded.unpriced_requests,
                cost_usd = r.cost_usd + excluded.cost_usd,
                pricing_version = excluded.pricing_version,
                updated_at = excluded.updated_at
        ),
        -- RETURNING yields only the rows inserted: the users new on their day, which the day counters add.
        new_active_users AS (
            INSERT INTO usage.daily_active_users (tenant_id, day, user_id, first_seen_at)
            SELECT @tenant, day, user_id, min(first_ts) FROM user_days GROUP BY day, user_id
            ON CONFLICT (tenant_id, day, user_id) DO NOTHING
            RETURNING day
        ),
        user_months AS (
            INSERT INTO usage.user_months AS r (tenant_id, month, user_id, active_days)
            SELECT @tenant, date_trunc('month', day)::date, user_id, bit_or(1 << (extract(day FROM day)::integer - 1))
            FROM user_days GROUP BY 2, 3
            -- Most folds see users already marked for the day: the WHERE skips rewriting those rows.
            ON CONFLICT (tenant_id, month, user_id) DO UPDATE SET active_days = r.active_days | excluded.active_days
                WHERE r.active_days | excluded.active_days <> r.active_days
        ),
        -- The chunk's sessions with the first day already known (null: new). A session counts as started on its
        -- first day; an earlier event (a backfill) moves that day.
        chunk_sessions AS MATERIALIZED (
            SELECT c.session_id, c.first_day, c.last_day, s.first_day AS known_first
            FROM (SELECT session_id, (min(ts) AT TIME ZONE 'UTC')::date AS first_day, (max(ts) AT TIME ZONE 'UTC')::date AS last_day
                  FROM ev WHERE session_id <> '' GROUP BY session_id) AS c
            LEFT JOIN usage.session_spans s ON s.tenant_id = @tenant AND s.session_id = c.session_id
        ),
        session_spans AS (
            INSERT INTO usage.session_spans AS r (tenant_id, session_id, first_day, last_day)
            SELECT @tenant, session_id, first_day, last_day FROM chunk_sessions
            ON CONFLICT (tenant_id, session_id) DO UPDATE SET
                first_day = least(r.first_day, excluded.first_day),
                last_day = greatest(r.last_day, excluded.last_day)
                WHERE excluded.first_day < r.first_day OR excluded.last_day > r.last_day
        ),
        day_counts AS (
            INSERT INTO usage.daily_counts AS r (tenant_id, day, active_users, sessions_started)
            SELECT @tenant, day, sum(users), sum(sessions)
            FROM (
                SELECT day, 1 AS users, 0 AS sessions FROM new_active_users
                UNION ALL
                SELECT first_day, 0, 1 FROM chunk_sessions WHERE known_first IS NULL OR first_day < known_first
                UNION ALL
                SELECT known_first, 0, -1 FROM chunk_sessions WHERE first_day < known_first
            ) AS d
            GROUP BY day
            ON CONFLICT (tenant_id, day) DO UPDATE SET
                active_users = r.active_users + excluded.active_users,
                sessions_started = r.sessions_started + excluded.sessions_started
        ),
        activity AS (
            INSERT INTO usage.activity_daily AS r (tenant_id, day, user_id, session_id, agent_id, channel, model, provider, requests,
                tokens_in, tokens_out, cost_usd, errors, unpriced_requests, first_ts, last_ts, pricing_version)
            SELECT @tenant, (hour AT TIME ZONE 'UTC')::date, user_id, session_id, agent_id, channel, model, provider, count(*), sum(tokens_in),
                   sum(tokens_out), sum(cost_usd), count(*) FILTER (WHERE is_error), count(*) FILTER (WHERE unpriced), min(ts), max(ts),
                   max(pricing_version)
            FROM ev GROUP BY 2, user_id, session_id, agent_id, channel, model, provider
            ON CONFLICT (tenant_id, day, user_id, session_id, agent_id, channel, model, provider) DO UPDATE SET
                requests = r.requests + excluded.requests,
                tokens_in = r.tokens_in + excluded.tokens_in,
                tokens_out = r.tokens_out + excluded.tokens_out,
                cost_usd = r.cost_usd + excluded.cost_usd,
                errors = r.errors + excluded.errors,
                unpriced_requests = r.unpriced_requests + excluded.unpriced_requests,
                first_ts = least(r.first_ts, excluded.first_ts),
                last_ts = greatest(r.last_ts, excluded.last_ts),
                pricing_version = excluded.pricing_version
        ),
        errors AS (
            INSERT INTO usage.error_hourly AS r (tenant_id, hour, action, severity, error_type, model, provider, agent_id, channel, errors)
            SELECT @tenant, hour, action, severity, error_type, {{Dimensions}}, count(*)
            FROM ev WHERE is_error GROUP BY hour, action, severity, error_type, {{Dimensions}}
            ON CONFLICT (tenant_id, hour, action, severity, error_type, model, provider, agent_id, channel) DO UPDATE SET
                errors = r.errors + excluded.errors
        )
        SELECT count(*) FROM ev
        """;

    /// <summary>A coarser grain of a <c>*_counts</c> CTE: the time <paramref name="time"/> of its t, the given dimensions.</summary>
    private static string Regroup(string source, string time, string dimensions) => $"""
        SELECT {time} AS t, {dimensions}, sum(requests) AS requests, sum(tokens_in) AS tokens_in,
                   sum(tokens_out) AS tokens_out, sum(cache_read) AS cache_read, sum(cache_write) AS cache_write, sum(cost) AS cost,
                   sum(reported) AS reported, sum(unpriced) AS unpriced, sum(errors) AS errors, sum(critical) AS critical, sum(up) AS up,
                   sum(down) AS down, sum(latency_count) AS latency_count, sum(latency_sum) AS latency_sum, sum(ttft_count) AS ttft_count,
                   sum(ttft_sum) AS ttft_sum, max(version) AS version
            FROM {source} GROUP BY 1, {dimensions}
        """;

    /// <summary>A coarser grain of a <c>*_buckets</c> CTE.</summary>
    private static string RegroupBuckets(string source, string time, string dimensions) =>
        $"SELECT {time} AS t, {dimensions}, kind, bucket, sum(c) AS c FROM {source} GROUP BY 1, {dimensions}, kind, bucket";

    /// <summary>
    /// The merged sketches and the upsert of one rollup, from its <c>{name}_counts</c> and <c>{name}_buckets</c>.
    /// Both sketches of a key come out of one aggregation, so the upsert joins the counts once (a join per sketch
    /// kind let the planner pick nested loops between CTEs when a chunk spans many hours).
    /// </summary>
    private static string Level(string name, string time, string table, string dimensions)
    {
        var keys = dimensions.Split(", ");
        string Match(string left, string right) => string.Join(" AND ", keys.Select(k => $"{left}.{k} = {right}.{k}"));
        string Columns(string alias) => string.Join(", ", keys.Select(k => $"{alias}.{k}"));
        return $$"""
        {{name}}_sketches AS (
            SELECT t, {{dimensions}},
                   array_agg(ARRAY[bucket::bigint, c] ORDER BY bucket) FILTER (WHERE kind = 0) AS latency,
                   array_agg(ARRAY[bucket::bigint, c] ORDER BY bucket) FILTER (WHERE kind = 1) AS ttft
            FROM (
                SELECT t, {{dimensions}}, kind, bucket, sum(c)::bigint AS c
                FROM (
                    SELECT t, {{dimensions}}, kind, bucket, c FROM {{name}}_buckets
                    UNION ALL
                    SELECT k.t, {{Columns("k")}}, s.kind, b.bucket, b.count
                    FROM {{name}}_counts k
                    JOIN usage.{{table}} r ON r.tenant_id = @tenant AND r.{{time}} = k.t AND {{Match("r", "k")}}
                    CROSS JOIN LATERAL (VALUES (0, r.latency_sketch, k.latency_count), (1, r.ttft_sketch, k.ttft_count)) AS s(kind, sketch, added)
                    CROSS JOIN LATERAL usage.sketch_buckets(s.sketch) b
                    WHERE s.added > 0
                ) AS buckets
                GROUP BY t, {{dimensions}}, kind, bucket
            ) AS merged
            GROUP BY t, {{dimensions}}
        ),
        {{name}} AS (
            INSERT INTO usage.{{table}} AS r (tenant_id, {{time}}, {{dimensions}}, requests, tokens_in, tokens_out, cache_read_tokens,
                cache_write_tokens, cost_usd, reported_cost_usd, unpriced_requests, errors, critical_errors, feedback_up, feedback_down,
                latency_count, latency_sum_ms, latency_sketch, ttft_count, ttft_sum_ms, ttft_sketch, pricing_version)
            SELECT @tenant, c.t, {{Columns("c")}}, c.requests, c.tokens_in, c.tokens_out, c.cache_read,
                   c.cache_write, c.cost, c.reported, c.unpriced, c.errors, c.critical, c.up, c.down, c.latency_count, c.latency_sum,
                   coalesce(s.latency, '{}'), c.ttft_count, c.ttft_sum, coalesce(s.ttft, '{}'), c.version
            FROM {{name}}_counts c
            LEFT JOIN {{name}}_sketches s ON s.t = c.t AND {{Match("s", "c")}}
            ON CONFLICT (tenant_id, {{time}}, {{dimensions}}) DO UPDATE SET
                requests = r.requests + excluded.requests,
                tokens_in = r.tokens_in + excluded.tokens_in,
                tokens_out = r.tokens_out + excluded.tokens_out,
                cache_read_tokens = r.cache_read_tokens + excluded.cache_read_tokens,
                cache_write_tokens = r.cache_write_tokens + excluded.cache_write_tokens,
                cost_usd = r.cost_usd + excluded.cost_usd,
                reported_cost_usd = r.reported_cost_usd + excluded.reported_cost_usd,
                unpriced_requests = r.unpriced_requests + excluded.unpriced_requests,
                errors = r.errors + excluded.errors,
                critical_errors = r.critical_errors + excluded.critical_errors,
                feedback_up = r.feedback_up + excluded.feedback_up,
                feedback_down = r.feedback_down + excluded.feedback_down,
                latency_count = r.latency_count + excluded.latency_count,
                latency_sum_ms = r.latency_sum_ms + excluded.latency_sum_ms,
                latency_sketch = CASE WHEN excluded.latency_count = 0 THEN r.latency_sketch ELSE excluded.latency_sketch END,
                ttft_count = r.ttft_count + excluded.ttft_count,
                ttft_sum_ms = r.ttft_sum_ms + excluded.ttft_sum_ms,
                ttft_sketch = CASE WHEN excluded.ttft_count = 0 THEN r.ttft_sketch ELSE excluded.ttft_sketch END,
                pricing_version = excluded.pricing_version
        )
        """;
    }
}
