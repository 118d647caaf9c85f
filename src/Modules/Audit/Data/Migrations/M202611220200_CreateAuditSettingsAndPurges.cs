using FluentMigrator;

namespace Ops.Modules.Audit.Data.Migrations;

/// <summary>
/// Per-tenant audit settings (retention, extra redaction patterns, always-redacted fields), the record of each
/// retention run (what the retention endpoint reports), helpers to list and drop day partitions, and an
/// idempotency-key index led by tenant_id so keys are purged per tenant.
/// </summary>
[Migration(202611220200, "Audit settings, purge runs, partition helpers")]
internal sealed class M202611220200_CreateAuditSettingsAndPurges : Migration
{
    public override void Up() => Execute.Sql("""
        CREATE TABLE audit.settings (
            tenant_id          text        NOT NULL PRIMARY KEY,
            retention_days     integer     NULL CHECK (retention_days BETWEEN 1 AND 3650),
            redaction_patterns jsonb       NOT NULL DEFAULT '[]'::jsonb,
            redacted_fields    text[]      NOT NULL DEFAULT '{}',
            version            bigint      NOT NULL DEFAULT 1,
            updated_at         timestamptz NOT NULL,
            updated_by         text        NOT NULL
        );

        CREATE TABLE audit.purge_runs (
            run_id                 bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            started_at             timestamptz NOT NULL,
            finished_at            timestamptz NOT NULL,
            default_retention_days integer     NOT NULL,
            longest_retention_days integer     NOT NULL,
            partitions_created     text[]      NOT NULL,
            partitions_dropped     text[]      NOT NULL,
            partitions_deferred    text[]      NOT NULL,
            events_deleted         bigint      NOT NULL,
            keys_deleted           bigint      NOT NULL
        );

        CREATE TABLE audit.purge_counts (
            tenant_id      text   NOT NULL,
            run_id         bigint NOT NULL REFERENCES audit.purge_runs (run_id) ON DELETE CASCADE,
            events_deleted bigint NOT NULL,
            keys_deleted   bigint NOT NULL,
            PRIMARY KEY (tenant_id, run_id)
        );
        CREATE INDEX purge_counts_run ON audit.purge_counts (run_id);

        DROP INDEX audit.event_keys_ts;
        CREATE INDEX event_keys_tenant_ts ON audit.event_keys (tenant_id, ts);

        -- The day partitions of audit.events, oldest first.
        CREATE FUNCTION audit.day_partitions() RETURNS TABLE (day date, name text) LANGUAGE sql STABLE AS $$
            SELECT to_date(substr(c.relname, 8), 'YYYYMMDD'), c.relname::text
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'audit.events'::regclass AND c.relname ~ '^events_[0-9]{8}$'
            ORDER BY 1;
        $$;

        -- Drops one day's partition; false if it did not exist.
        CREATE FUNCTION audit.drop_day_partition(day date) RETURNS boolean LANGUAGE plpgsql AS $$
        DECLARE
            partition_name text := 'events_' || to_char(day, 'YYYYMMDD');
        BEGIN
            IF to_regclass('audit.' || partition_name) IS NULL THEN
                RETURN false;
            END IF;
            EXECUTE format('DROP TABLE audit.%I', partition_name);
            RETURN true;
        END;
        $$;
        """);

    public override void Down() => Execute.Sql("""
        DROP FUNCTION audit.drop_day_partition(date);
        DROP FUNCTION audit.day_partitions();
        DROP INDEX audit.event_keys_tenant_ts;
        CREATE INDEX event_keys_ts ON audit.event_keys (ts);
        DROP TABLE audit.purge_counts;
        DROP TABLE audit.purge_runs;
        DROP TABLE audit.settings;
        """);
}
