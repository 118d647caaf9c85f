using FluentMigrator;

namespace Ops.Modules.KillSwitch.Data.Migrations;

/// <summary>The module's schema. FluentMigrator creates it with the version table; this documents its purpose.</summary>
[Migration(202611220000, "Create the killswitch schema")]
internal sealed class M202611220000_CreateKillSwitchSchema : Migration
{
    public override void Up() =>
        Execute.Sql("CREATE SCHEMA IF NOT EXISTS killswitch; COMMENT ON SCHEMA killswitch IS 'KillSwitch module: System flags, feature flags and their history';");

    public override void Down() => Execute.Sql("DROP SCHEMA killswitch CASCADE;");
}
