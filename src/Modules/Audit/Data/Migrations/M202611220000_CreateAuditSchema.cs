using FluentMigrator;

namespace Ops.Modules.Audit.Data.Migrations;

/// <summary>The module's schema. FluentMigrator creates it with the version table; this documents its purpose.</summary>
[Migration(202611220000, "Create the audit schema")]
internal sealed class M202611220000_CreateAuditSchema : Migration
{
    public override void Up() =>
        Execute.Sql("CREATE SCHEMA IF NOT EXISTS audit; COMMENT ON SCHEMA audit IS 'Audit module: Audit events, redaction settings and retention';");

    public override void Down() => Execute.Sql("DROP SCHEMA audit CASCADE;");
}
