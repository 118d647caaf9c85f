using FluentMigrator;

namespace Ops.Modules.Alerts.Data.Migrations;

/// <summary>The module's schema. FluentMigrator creates it with the version table; this documents its purpose.</summary>
[Migration(202611220000, "Create the alerts schema")]
internal sealed class M202611220000_CreateAlertsSchema : Migration
{
    public override void Up() =>
        Execute.Sql("CREATE SCHEMA IF NOT EXISTS alerts; COMMENT ON SCHEMA alerts IS 'Alerts module: Alert rules, state, snoozes and deliveries';");

    public override void Down() => Execute.Sql("DROP SCHEMA alerts CASCADE;");
}
