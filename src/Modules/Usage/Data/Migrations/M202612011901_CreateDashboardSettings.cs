using FluentMigrator;

namespace Ops.Modules.Usage.Data.Migrations;

/// <summary>Per-tenant thresholds of the dashboard's cards and its display currency (issue 4). No row = the defaults.</summary>
[Migration(202612011901, "Usage dashboard settings")]
internal sealed class M202612011901_CreateDashboardSettings : Migration
{
    public override void Up() => Execute.Sql("""
        CREATE TABLE usage.dashboard_settings (
            tenant_id           text          NOT NULL PRIMARY KEY,
            errors_threshold    integer       NOT NULL,
            latency_slo_s       numeric(8,3)  NOT NULL,
            ttft_goal_ms        integer       NOT NULL,
            ttft_red_ms         integer       NOT NULL,
            feedback_goal       numeric(5,4)  NOT NULL,
            feedback_red_below  numeric(5,4)  NOT NULL,
            currency            text          NOT NULL,
            rate                numeric(18,6) NOT NULL CHECK (rate > 0),
            updated_at          timestamptz   NOT NULL,
            updated_by          text          NOT NULL
        );
        """);

    public override void Down() => Execute.Sql("DROP TABLE usage.dashboard_settings;");
}
