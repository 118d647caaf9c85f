using FluentMigrator;

namespace Ops.Modules.Usage.Data.Migrations;

/// <summary>
/// Small rollups for the questions asked most (ADR 0027): the tenant-wide model grain (no agent/channel) of the hourly
/// and daily rollups, day counters (active users, sessions started), a month bitmap of active days per user and the
/// day span of every session. They make the cards and the unfiltered 30-day metrics read a few hundred rows instead of
/// every dimension combination. Filled here from the rollups already built (they hold exactly the folded events), then
/// kept by the fold in the same statement as the others.
/// </summary>
[Migration(202612012200, "Usage read rollups: model grain, day counters, user months, session spans")]
internal sealed class M202612012200_CreateReadRollups : Migration
{
    private const string Measures = """
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

    private const string MeasureSums = """
        sum(requests), sum(tokens_in), sum(tokens_out), sum(cache_read_tokens), sum(cache_write_tokens), sum(cost_usd),
               sum(reported_cost_usd), sum(unpriced_requests), sum(errors), sum(critical_errors), sum(feedback_up), sum(feedback_down),
               sum(latency_count), sum(latency_sum_ms), usage.sketch_union(latency_sketch), sum(ttft_count), sum(ttft_sum_ms),
               usage.sketch_union(ttft_sketch), max(pricing_version)
        """;

    public override void Up() => Execute.Sql($$"""
        CREATE TABLE usage.hourly_model_rollup (
            tenant_id           text           NOT NULL,
            hour                timestamptz    NOT NULL,
            model               text           NOT NULL,
            provider            text           NOT NULL,
            {{Measures}},
            PRIMARY KEY (tenant_id, hour, model, provider)
        ) WITH (fillfactor = 70);

        CREATE TABLE usage.daily_model_rollup (
            tenant_id           text           NOT NULL,
            day                 date           NOT NULL,
            model               text           NOT NULL,
            provider            text           NOT NULL,
            {{Measures}},
            PRIMARY KEY (tenant_id, day, model, provider)
        ) WITH (fillfactor = 70);

        -- Per tenant and UTC day: distinct active users (the rows daily_active_users gained) and the sessions whose
        -- first event is on that day.
        CREATE TABLE usage.daily_counts (
            tenant_id           text           NOT NULL,
            day                 date           NOT NULL,
            active_users        bigint         NOT NULL,
            sessions_started    bigint         NOT NULL,
            PRIMARY KEY (tenant_id, day)
        ) WITH (fillfactor = 70);

        -- Bit d-1 of active_days is set when the user was active on day d of the month: distinct users over any day
        -- range read one row per user and month.
        CREATE TABLE usage.user_months (
            tenant_id           text           NOT NULL,
            month               date           NOT NULL,
            user_id             text           NOT NULL,
            active_days         integer        NOT NULL,
            PRIMARY KEY (tenant_id, month, user_id)
        ) WITH (fillfactor = 80);

        -- The UTC days of a session's first and last event: a session is active on every day of its span.
        CREATE TABLE usage.session_spans (
            tenant_id           text           NOT NULL,
            session_id          text           NOT NULL,
            first_day           date           NOT NULL,
            last_day            date           NOT NULL,
            PRIMARY KEY (tenant_id, session_id)
        ) WITH (fillfactor = 80);
        -- Sessions that span days: the only ones a day range can see without counting their first day.
        CREATE INDEX session_spans_multi_day ON usage.session_spans (tenant_id, last_day) WHERE last_day > first_day;

        {{Backfill(oneTenant: false)}}
        """);

    /// <summary>
    /// Fills the new rollups from the existing ones, for every tenant or only @tenant (tests compare that with what the
    /// fold builds).
    /// </summary>
    internal static string Backfill(bool oneTenant)
    {
        var where = oneTenant ? "WHERE tenant_id = @tenant" : string.Empty;
        var and = oneTenant ? " AND tenant_id = @tenant" : string.Empty;
        return $$"""
        INSERT INTO usage.hourly_model_rollup
        SELECT tenant_id, hour, model, provider, {{MeasureSums}}
        FROM usage.hourly_rollup {{where}} GROUP BY tenant_id, hour, model, provider;

        INSERT INTO usage.daily_model_rollup
        SELECT tenant_id, day, model, provider, {{MeasureSums}}
        FROM usage.daily_rollup {{where}} GROUP BY tenant_id, day, model, provider;

        INSERT INTO usage.user_months
        SELECT tenant_id, date_trunc('month', day)::date, user_id, bit_or(1 << (extract(day FROM day)::integer - 1))
        FROM usage.daily_active_users {{where}} GROUP BY 1, 2, 3;

        INSERT INTO usage.session_spans
        SELECT tenant_id, session_id, min(day), max(day) FROM usage.activity_daily WHERE session_id <> ''{{and}} GROUP BY 1, 2;

        INSERT INTO usage.daily_counts
        SELECT tenant_id, day, sum(users), sum(sessions)
        FROM (SELECT tenant_id, day, 1 AS users, 0 AS sessions FROM usage.daily_active_users {{where}}
              UNION ALL
              SELECT tenant_id, first_day, 0, 1 FROM usage.session_spans {{where}}) AS c
        GROUP BY 1, 2;
        """;
    }

    public override void Down() => Execute.Sql("""
        DROP TABLE usage.session_spans, usage.user_months, usage.daily_counts, usage.daily_model_rollup, usage.hourly_model_rollup;
        """);
}
