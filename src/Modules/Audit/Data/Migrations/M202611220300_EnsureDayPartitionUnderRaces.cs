using FluentMigrator;

namespace Ops.Modules.Audit.Data.Migrations;

/// <summary>
/// <c>audit.ensure_day_partition</c> could fail with 42P07 when several sessions created the same day at once:
/// the advisory lock serialised them, but the waiting session's catalog lookup (<c>to_regclass</c>) did not see
/// the table the first one had just committed (taking an advisory lock does not refresh the catalog cache), so it
/// tried to create it again. The table already existing is now treated as success.
/// </summary>
[Migration(202611220300, "ensure_day_partition tolerates concurrent creation")]
internal sealed class M202611220300_EnsureDayPartitionUnderRaces : Migration
{
    public override void Up() => Execute.Sql("""
        CREATE OR REPLACE FUNCTION audit.ensure_day_partition(day date) RETURNS boolean LANGUAGE plpgsql AS $$
        DECLARE
            partition_name text := 'events_' || to_char(day, 'YYYYMMDD');
        BEGIN
            IF to_regclass('audit.' || partition_name) IS NOT NULL THEN
                RETURN false;
            END IF;
            PERFORM pg_advisory_xact_lock(hashtextextended('audit.partition.' || partition_name, 0));
            BEGIN
                EXECUTE format(
                    'CREATE TABLE audit.%I PARTITION OF audit.events FOR VALUES FROM (%L) TO (%L)',
                    partition_name,
                    (day::timestamp AT TIME ZONE 'UTC'),
                    ((day + 1)::timestamp AT TIME ZONE 'UTC'));
            EXCEPTION WHEN duplicate_table OR unique_violation THEN
                RETURN false; -- another session created it first
            END;
            RETURN true;
        END;
        $$;
        """);

    public override void Down() => Execute.Sql("""
        CREATE OR REPLACE FUNCTION audit.ensure_day_partition(day date) RETURNS boolean LANGUAGE plpgsql AS $$
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
}
