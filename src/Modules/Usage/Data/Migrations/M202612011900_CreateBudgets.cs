using FluentMigrator;

namespace Ops.Modules.Usage.Data.Migrations;

/// <summary>
/// Spending limits per tenant, agent or user, per UTC day or calendar month (issue 4). One budget per
/// (scope, entity, period); the status is computed from the rollups when asked, never stored.
/// </summary>
[Migration(202612011900, "Usage budgets")]
internal sealed class M202612011900_CreateBudgets : Migration
{
    public override void Up() => Execute.Sql("""
        CREATE TABLE usage.budgets (
            tenant_id    text          NOT NULL,
            scope        text          NOT NULL CHECK (scope IN ('tenant', 'agent', 'user')),
            entity_id    text          NOT NULL,
            period       text          NOT NULL CHECK (period IN ('day', 'month')),
            limit_usd    numeric(18,6) NOT NULL CHECK (limit_usd > 0),
            warning_pct  numeric(5,2)  NOT NULL DEFAULT 80 CHECK (warning_pct > 0 AND warning_pct <= 100),
            updated_at   timestamptz   NOT NULL,
            updated_by   text          NOT NULL,
            PRIMARY KEY (tenant_id, scope, entity_id, period),
            -- A tenant budget's entity is the tenant itself.
            CHECK (scope <> 'tenant' OR entity_id = tenant_id)
        );
        COMMENT ON TABLE usage.budgets IS 'Spending limits (USD) per tenant, agent or user for the UTC day or calendar month.';
        """);

    public override void Down() => Execute.Sql("DROP TABLE usage.budgets;");
}
