using FluentMigrator;

namespace Ops.Modules.Alerts.Data.Migrations;

/// <summary>
/// Per-tenant rule overrides, the fired log (one row per firing episode of a key), per-key notification state (the
/// dedup window survives restarts and is shared by every instance), snoozes, channels, the delivery outbox, the
/// spend-breaker settings and the tenants the evaluation job visits.
/// </summary>
[Migration(202612011900, "Alert rules, alerts, snoozes, channels, deliveries, spend breaker")]
internal sealed class M202612011900_CreateAlerts : Migration
{
    public override void Up() => Execute.Sql("""
        CREATE TABLE alerts.watched_tenants (
            tenant_id     text        NOT NULL PRIMARY KEY,
            first_seen_at timestamptz NOT NULL
        );

        -- Only what a tenant changed; the built-in defaults live in code (RuleCatalog).
        CREATE TABLE alerts.rules (
            tenant_id      text        NOT NULL,
            key            text        NOT NULL,
            enabled        boolean     NOT NULL,
            threshold      numeric     NULL,
            window_minutes integer     NULL,
            min_ratings    integer     NULL,
            updated_at     timestamptz NOT NULL,
            updated_by     text        NOT NULL,
            PRIMARY KEY (tenant_id, key)
        );

        -- One row per firing episode: fired, then (maybe) resolved.
        CREATE TABLE alerts.alerts (
            tenant_id    text        NOT NULL,
            id           bigint      GENERATED ALWAYS AS IDENTITY,
            key          text        NOT NULL,
            rule         text        NOT NULL,
            entity_type  text        NULL,
            entity_id    text        NULL,
            state        text        NOT NULL,
            message      text        NOT NULL,
            value        numeric     NOT NULL,
            threshold    numeric     NOT NULL,
            period_start date        NULL,
            fired_at     timestamptz NOT NULL,
            resolved_at  timestamptz NULL,
            snoozed      boolean     NOT NULL,
            notified     boolean     NOT NULL,
            PRIMARY KEY (tenant_id, id),
            CONSTRAINT alerts_state_known CHECK (state IN ('firing', 'resolved'))
        );
        -- At most one firing episode per key, whatever instances race.
        CREATE UNIQUE INDEX alerts_one_firing_per_key ON alerts.alerts (tenant_id, key) WHERE state = 'firing';
        CREATE INDEX alerts_by_rule ON alerts.alerts (tenant_id, rule, id);

        -- The dedup memory: when the key last notified (and for which budget period).
        CREATE TABLE alerts.key_state (
            tenant_id        text        NOT NULL,
            key              text        NOT NULL,
            last_notified_at timestamptz NULL,
            last_period      date        NULL,
            PRIMARY KEY (tenant_id, key)
        );

        CREATE TABLE alerts.snoozes (
            tenant_id      text        NOT NULL,
            key            text        NOT NULL,
            until          timestamptz NOT NULL,
            reason         text        NOT NULL,
            snoozed_by     text        NOT NULL,
            snoozed_at     timestamptz NOT NULL,
            follow_up_note text        NULL,
            noted_at       timestamptz NULL,
            PRIMARY KEY (tenant_id, key)
        );

        CREATE TABLE alerts.channels (
            tenant_id  text        NOT NULL,
            id         uuid        NOT NULL,
            name       text        NOT NULL,
            kind       text        NOT NULL,
            url        text        NOT NULL,
            secret     text        NOT NULL,
            enabled    boolean     NOT NULL,
            created_at timestamptz NOT NULL,
            created_by text        NOT NULL,
            deleted_at timestamptz NULL,
            PRIMARY KEY (tenant_id, id),
            CONSTRAINT channels_kind_known CHECK (kind IN ('webhook', 'slack'))
        );

        -- The outbox: written with the state change, delivered by a background loop.
        CREATE TABLE alerts.deliveries (
            tenant_id       text        NOT NULL,
            id              bigint      GENERATED ALWAYS AS IDENTITY,
            alert_id        bigint      NOT NULL,
            channel_id      uuid        NOT NULL,
            event           text        NOT NULL,
            payload         jsonb       NOT NULL,
            status          text        NOT NULL,
            attempts        integer     NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL,
            lease_until     timestamptz NULL,
            last_error      text        NULL,
            last_status     integer     NULL,
            created_at      timestamptz NOT NULL,
            delivered_at    timestamptz NULL,
            PRIMARY KEY (tenant_id, id),
            FOREIGN KEY (tenant_id, alert_id) REFERENCES alerts.alerts (tenant_id, id),
            FOREIGN KEY (tenant_id, channel_id) REFERENCES alerts.channels (tenant_id, id),
            CONSTRAINT deliveries_event_known CHECK (event IN ('fired', 'resolved')),
            CONSTRAINT deliveries_status_known CHECK (status IN ('pending', 'delivered', 'failed'))
        );
        CREATE INDEX deliveries_by_alert ON alerts.deliveries (tenant_id, alert_id);
        CREATE INDEX deliveries_due ON alerts.deliveries (tenant_id, next_attempt_at) WHERE status = 'pending';

        CREATE TABLE alerts.breakers (
            tenant_id      text        NOT NULL PRIMARY KEY,
            enabled        boolean     NOT NULL,
            subject        text        NOT NULL,
            window_minutes integer     NOT NULL,
            limit_usd      numeric     NOT NULL,
            kill_minutes   integer     NOT NULL,
            updated_at     timestamptz NOT NULL,
            updated_by     text        NOT NULL,
            CONSTRAINT breakers_subject_known CHECK (subject IN ('user', 'agent'))
        );
        """);

    public override void Down() => Execute.Sql("""
        DROP TABLE alerts.breakers;
        DROP TABLE alerts.deliveries;
        DROP TABLE alerts.channels;
        DROP TABLE alerts.snoozes;
        DROP TABLE alerts.key_state;
        DROP TABLE alerts.alerts;
        DROP TABLE alerts.rules;
        DROP TABLE alerts.watched_tenants;
        """);
}
