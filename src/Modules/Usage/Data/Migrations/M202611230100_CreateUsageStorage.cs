using FluentMigrator;

namespace Ops.Modules.Usage.Data.Migrations;

/// <summary>
/// Raw LLM-call events and the rollups every later question is answered from (ADR 0020). Rollups are folded from
/// the committed events exactly once, by transaction id (ADR 0023), carry the pricing version their cost came
/// from, and keep latency and TTFT sketches (ADR 0021). Optional dimensions (agent, channel, session, …) are '' in rollup keys, never null,
/// so they can be part of primary keys; APIs show them as null.
/// </summary>
[Migration(202611230100, "Usage events, rollups and sketches")]
internal sealed class M202611230100_CreateUsageStorage : Migration
{
    public override void Up() => Execute.Sql($$"""
        -- Raw events: one row per LLM call, kept RawRetentionDays (by ts). (tenant_id, request_id) is the
        -- idempotency key; txid, the inserting transaction, is the rollup fold's cursor (ADR 0023).
        -- Fixed-width columns come first so rows pack without alignment padding.
        CREATE TABLE usage.events (
            tenant_id           text           NOT NULL,
            request_id          text           NOT NULL,
            txid                xid8           NOT NULL DEFAULT pg_current_xact_id(),
            ts                  timestamptz    NOT NULL,
            received_at         timestamptz    NOT NULL,
            tokens_in           integer        NOT NULL,
            tokens_out          integer        NOT NULL,
            cache_read_tokens   integer        NOT NULL,
            cache_write_tokens  integer        NOT NULL,
            latency_ms          integer        NULL,
            ttft_ms             integer        NULL,
            is_error            boolean        NOT NULL,
            unpriced            boolean        NOT NULL,
            user_id             text           NOT NULL,
            model               text           NOT NULL,
            provider            text           NOT NULL,
            action              text           NOT NULL,
            session_id          text           NULL,
            agent_id            text           NULL,
            channel             text           NULL,
            error_type          text           NULL,
            severity            text           NULL,
            cost_usd            numeric(30,12) NOT NULL,
            reported_cost_usd   numeric(30,12) NULL,
            pricing_version     text           NULL,
            feedback            text           NULL,
            feedback_comment    text           NULL,
            feedback_at         timestamptz    NULL,
            metadata            jsonb          NULL,
            PRIMARY KEY (tenant_id, request_id)
        );
        CREATE INDEX events_tenant_ts ON usage.events (tenant_id, ts);
        CREATE INDEX events_tenant_txid ON usage.events (tenant_id, txid);

        -- The fold's progress per tenant: every event of the tenant with txid < folded_below is in the rollups,
        -- and no other. Only the fold moves it, in the transaction that adds those events to the rollups.
        CREATE TABLE usage.rollup_watermarks (
            tenant_id           text           NOT NULL PRIMARY KEY,
            folded_below        xid8           NOT NULL,
            folded_events       bigint         NOT NULL DEFAULT 0,
            folded_at           timestamptz    NULL
        );
        COMMENT ON TABLE usage.events IS 'Raw LLM-call events (retention: Modules:Usage:RawRetentionDays). Read by short windows only; everything else reads rollups.';

        -- Rollups (kept for good). fillfactor leaves room for HOT updates: counters change, keys never do.
        -- Sketches: bigint[n][2] of {bucket, count} rows (LatencySketch); usage.sketch_merge adds two.
        CREATE TABLE usage.hourly_rollup (
            tenant_id           text           NOT NULL,
            hour                timestamptz    NOT NULL,
            {{DimensionsAndMeasures}},
            PRIMARY KEY (tenant_id, hour, model, provider, agent_id, channel)
        ) WITH (fillfactor = 70);

        CREATE TABLE usage.daily_rollup (
            tenant_id           text           NOT NULL,
            day                 date           NOT NULL,
            {{DimensionsAndMeasures}},
            PRIMARY KEY (tenant_id, day, model, provider, agent_id, channel)
        ) WITH (fillfactor = 70);

        -- The seed's usage_daily: cost per user per day per model.
        CREATE TABLE usage.usage_daily (
            tenant_id           text           NOT NULL,
            user_id             text           NOT NULL,
            day                 date           NOT NULL,
            model               text           NOT NULL,
            tokens_in           bigint         NOT NULL,
            tokens_out          bigint         NOT NULL,
            cache_read_tokens   bigint         NOT NULL,
            cache_write_tokens  bigint         NOT NULL,
            requests            bigint         NOT NULL,
            errors              bigint         NOT NULL,
            unpriced_requests   bigint         NOT NULL,
            cost_usd            numeric(30,12) NOT NULL,
            pricing_version     text           NULL,
            updated_at          timestamptz    NOT NULL,
            PRIMARY KEY (tenant_id, user_id, day, model)
        ) WITH (fillfactor = 70);
        CREATE INDEX usage_daily_tenant_day ON usage.usage_daily (tenant_id, day);

        -- Who was active: one row per user per day, written once.
        CREATE TABLE usage.daily_active_users (
            tenant_id           text           NOT NULL,
            day                 date           NOT NULL,
            user_id             text           NOT NULL,
            first_seen_at       timestamptz    NOT NULL,
            PRIMARY KEY (tenant_id, day, user_id)
        );

        -- The finest day grain: user × session × agent × channel × model. Answers sessions, and user-level
        -- questions filtered by agent or channel, without raw events.
        CREATE TABLE usage.activity_daily (
            tenant_id           text           NOT NULL,
            day                 date           NOT NULL,
            user_id             text           NOT NULL,
            session_id          text           NOT NULL,
            agent_id            text           NOT NULL,
            channel             text           NOT NULL,
            model               text           NOT NULL,
            provider            text           NOT NULL,
            requests            bigint         NOT NULL,
            tokens_in           bigint         NOT NULL,
            tokens_out          bigint         NOT NULL,
            cost_usd            numeric(30,12) NOT NULL,
            errors              bigint         NOT NULL,
            unpriced_requests   bigint         NOT NULL,
            first_ts            timestamptz    NOT NULL,
            last_ts             timestamptz    NOT NULL,
            pricing_version     text           NULL,
            PRIMARY KEY (tenant_id, day, user_id, session_id, agent_id, channel, model, provider)
        ) WITH (fillfactor = 80);

        -- Errors by action (and type and severity), hourly. Only error events write here.
        CREATE TABLE usage.error_hourly (
            tenant_id           text           NOT NULL,
            hour                timestamptz    NOT NULL,
            action              text           NOT NULL,
            severity            text           NOT NULL,
            error_type          text           NOT NULL,
            model               text           NOT NULL,
            provider            text           NOT NULL,
            agent_id            text           NOT NULL,
            channel             text           NOT NULL,
            errors              bigint         NOT NULL,
            PRIMARY KEY (tenant_id, hour, action, severity, error_type, model, provider, agent_id, channel)
        ) WITH (fillfactor = 80);

        -- A sketch is a bigint[n][2] of {bucket, count} rows in bucket order, '{}' when empty (LatencySketch).
        -- Its buckets as rows: merge many sketches set-based with GROUP BY bucket. Two column slices, unnested
        -- together, read a (possibly TOASTed) array once; s[i][1] per element would detoast it per element.
        CREATE FUNCTION usage.sketch_buckets(s bigint[]) RETURNS TABLE (bucket integer, count bigint)
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT u.bucket::integer, u.count FROM unnest(s[:][1:1], s[:][2:2]) AS u(bucket, count)
        $$;

        -- Sketch merge: adds two sketches bucket by bucket. Associative and commutative.
        CREATE FUNCTION usage.sketch_merge(a bigint[], b bigint[]) RETURNS bigint[]
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT coalesce(array_agg(ARRAY[m.bucket::bigint, m.c] ORDER BY m.bucket), '{}')
            FROM (SELECT x.bucket, sum(x.count)::bigint AS c FROM (VALUES (a), (b)) AS src(s), usage.sketch_buckets(src.s) AS x GROUP BY x.bucket) AS m
        $$;

        CREATE AGGREGATE usage.sketch_union(bigint[]) (SFUNC = usage.sketch_merge, STYPE = bigint[], INITCOND = '{}');

        -- The bucket of a latency in ms (LatencySketch.BucketOf): ceil(log_γ(v)), γ = 1.01/0.99; below 1 ms, -1.
        CREATE FUNCTION usage.sketch_bucket(value double precision) RETURNS integer
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT CASE WHEN value < 1 THEN -1 ELSE ceil(ln(value) / ln(1.01::float8 / 0.99::float8))::integer END
        $$;

        -- The value a bucket stands for (LatencySketch.ValueOf): within 1 % of every value it counts.
        CREATE FUNCTION usage.sketch_value(bucket integer) RETURNS double precision
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT CASE WHEN bucket < 0 THEN 0::float8 ELSE 2 * power(1.01::float8 / 0.99::float8, bucket) / (1.01::float8 / 0.99::float8 + 1) END
        $$;

        -- percentile_cont's definition over a sketch (LatencySketch.Quantile).
        CREATE FUNCTION usage.sketch_quantile(s bigint[], q double precision) RETURNS double precision
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            WITH b AS (SELECT bucket, count, sum(count) OVER (ORDER BY bucket) AS upto, sum(count) OVER () AS n FROM usage.sketch_buckets(s)),
                 r AS (SELECT q * (max(n) - 1) AS rank FROM b),
                 lo AS (SELECT usage.sketch_value(min(bucket)) AS v FROM b, r WHERE upto > floor(r.rank)),
                 hi AS (SELECT usage.sketch_value(min(bucket)) AS v FROM b, r WHERE upto > ceil(r.rank))
            SELECT lo.v + (r.rank - floor(r.rank)) * (hi.v - lo.v) FROM lo, hi, r WHERE r.rank IS NOT NULL
        $$;
        """);

    /// <summary>The columns the hourly and daily rollups share after their time column.</summary>
    private const string DimensionsAndMeasures = """
        model               text           NOT NULL,
                    provider            text           NOT NULL,
                    agent_id            text           NOT NULL,
                    channel             text           NOT NULL,
                    requests            bigint         NOT NULL,
                    tokens_in           bigint         NOT NULL,
                    tokens_out          bigint         NOT NULL,
                    cache_read_tokens   bigint         NOT NULL,
                    cache_write_tokens  bigint         NOT NULL,
                    cost_usd            numeric(30,12) NOT NULL,
                    reported_cost_usd   numeric(30,12) NOT NULL,
                    unpriced_requests   bigint         NOT NULL,
                    errors              bigint         NOT NULL,
                    critical_errors     bigint         NOT NULL,
                    feedback_up         bigint         NOT NULL,
                    feedback_down       bigint         NOT NULL,
                    latency_count       bigint         NOT NULL,
                    latency_sum_ms      bigint         NOT NULL,
                    latency_sketch      bigint[]       NOT NULL,
                    ttft_count          bigint         NOT NULL,
                    ttft_sum_ms         bigint         NOT NULL,
                    ttft_sketch         bigint[]       NOT NULL,
                    pricing_version     text           NULL
        """;

    public override void Down() => Execute.Sql("""
        DROP FUNCTION usage.sketch_quantile(bigint[], double precision);
        DROP FUNCTION usage.sketch_value(integer);
        DROP FUNCTION usage.sketch_bucket(double precision);
        DROP AGGREGATE usage.sketch_union(bigint[]);
        DROP FUNCTION usage.sketch_merge(bigint[], bigint[]);
        DROP FUNCTION usage.sketch_buckets(bigint[]);
        DROP TABLE usage.rollup_watermarks, usage.error_hourly, usage.activity_daily, usage.daily_active_users, usage.usage_daily,
                   usage.daily_rollup, usage.hourly_rollup, usage.events;
        """);
}
