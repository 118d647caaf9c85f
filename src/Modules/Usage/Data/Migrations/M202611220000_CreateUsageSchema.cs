using FluentMigrator;

namespace Ops.Modules.Usage.Data.Migrations;

/// <summary>The module's schema. FluentMigrator creates it with the version table; this documents its purpose.</summary>
[Migration(202611220000, "Create the usage schema")]
internal sealed class M202611220000_CreateUsageSchema : Migration
{
    public override void Up() =>
        Execute.Sql("CREATE SCHEMA IF NOT EXISTS usage; COMMENT ON SCHEMA usage IS 'Usage module: LLM-call events, pricing and rollups';");

    public override void Down() => Execute.Sql("DROP SCHEMA usage CASCADE;");
}
