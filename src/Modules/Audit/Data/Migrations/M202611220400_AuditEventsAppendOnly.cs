using FluentMigrator;

namespace Ops.Modules.Audit.Data.Migrations;

/// <summary>
/// Audit events are append-only: no endpoint updates them, and the database refuses it too, so not even a bug or
/// a hand-run statement can rewrite history. (Deletion stays possible: retention is the one way events go.) The
/// row trigger on the partitioned table is cloned onto every partition, present and future.
/// </summary>
[Migration(202611220400, "Audit events are append-only")]
internal sealed class M202611220400_AuditEventsAppendOnly : Migration
{
    public override void Up() => Execute.Sql("""
        CREATE FUNCTION audit.refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit events are append-only: % cannot be updated', TG_TABLE_NAME
                USING ERRCODE = 'insufficient_privilege';
        END;
        $$;
        CREATE TRIGGER events_append_only BEFORE UPDATE ON audit.events
            FOR EACH ROW EXECUTE FUNCTION audit.refuse_update();
        """);

    public override void Down() => Execute.Sql("""
        DROP TRIGGER events_append_only ON audit.events;
        DROP FUNCTION audit.refuse_update();
        """);
}
