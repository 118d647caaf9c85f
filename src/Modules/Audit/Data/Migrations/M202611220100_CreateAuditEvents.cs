using FluentMigrator;

namespace Ops.Modules.Audit.Data.Migrations;

/// <summary>
/// Audit events, partitioned by UTC day so retention drops whole partitions. (tenant_id, request_id, action)
/// is the idempotency key; a unique index on a partitioned table must include the partition key, so the keys
/// live in their own table, purged with the events.
/// </summary>
[Migration(202611220100, "Audit events partitioned by day")]
internal sealed class M202611220100_CreateAuditEvents : Migration
{
    public override void Up() => Execute.Sql("""
        CREATE SEQUENCE audit.events_event_id_seq AS bigint;

        CREATE TABLE audit.events (
            tenant_id   text        NOT NULL,
            ts          timestamptz NOT NULL,
            event_id    bigint      NOT NULL DEFAULT nextval('audit.events_event_id_seq'),
            action      text        NOT NULL,
            user_id     text        NULL,
            request_id  text        NULL,
            status      text        NULL,
            actor       text        NULL,
            details     jsonb       NOT NULL DEFAULT '{}'::jsonb,
            PRIMARY KEY (tenant_id, ts, event_id)
        ) PARTITION BY RANGE (ts);
        CREATE INDEX events_tenant_action ON audit.events (tenant_id, action, ts);
        CREATE INDEX events_tenant_user ON audit.events (tenant_id, user_id, ts);
        CREATE INDEX events_tenant_request ON audit.events (tenant_id, request_id);

        CREATE TABLE audit.event_keys (
            tenant_id   text        NOT NULL,
            request_id  text        NOT NULL,
            action      text        NOT NULL,
            ts          timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, request_id, action)
        );
        CREATE INDEX event_keys_ts ON audit.event_keys (ts);

        -- Idempotent, safe under concurrency: creates the partition holding one UTC day if it is missing.
        CREATE FUNCTION audit.ensure_day_partition(day date) RETURNS boolean LANGUAGE plpgsql AS $$
        DECLARE
            partition_name text := 'events_' || to_char(day, 'YYYYMMDD');
        BEGIN
            IF to_regclass('audit.' || partition_name) IS NOT NULL THEN
                RETURN false;
            END IF;
            PERFORM pg_advisory_xact_lock(hashtextextended('audit.partition.' || partition_name, 0));
            IF to_regclass('audit.' || partition_name) IS NOT NULL THEN
                RETURN false;
            END IF;
            EXECUTE format(
                'CREATE TABLE audit.%I PARTITION OF audit.events FOR VALUES FROM (%L) TO (%L)',
                partition_name,
                (day::timestamp AT TIME ZONE 'UTC'),
                ((day + 1)::timestamp AT TIME ZONE 'UTC'));
            RETURN true;
        END;
        $$;
        """);

    public override void Down() => Execute.Sql("""
        DROP FUNCTION audit.ensure_day_partition(date);
        DROP TABLE audit.event_keys;
        DROP TABLE audit.events;
        DROP SEQUENCE audit.events_event_id_seq;
        """);
}
