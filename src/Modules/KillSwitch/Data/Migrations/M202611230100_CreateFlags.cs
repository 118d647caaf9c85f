using FluentMigrator;

namespace Ops.Modules.KillSwitch.Data.Migrations;

/// <summary>
/// Flags (the seed's <c>system_flags</c> plus <c>expires_at</c>, per tenant), their full history, and one version
/// per scope so caches and SSE streams can tell what they have missed. The platform scope is the reserved
/// tenant id <c>*</c>, which no tenant id can take (tenant ids are lowercase letters, digits and hyphens).
/// </summary>
[Migration(202611230100, "Flags, flag history and scope versions")]
internal sealed class M202611230100_CreateFlags : Migration
{
    public override void Up() => Execute.Sql("""
        -- One sequence for every change: writers take a transaction-level advisory lock before drawing from it,
        -- so change ids commit in increasing order and an SSE client can resume from the last id it saw.
        CREATE SEQUENCE killswitch.change_ids AS bigint;

        CREATE TABLE killswitch.flags (
            tenant_id   text        NOT NULL,
            key         text        NOT NULL,
            kind        text        NOT NULL,
            value       jsonb       NOT NULL,
            reason      text        NOT NULL,
            set_by      text        NOT NULL,
            set_at      timestamptz NOT NULL,
            expires_at  timestamptz NULL,
            change_id   bigint      NOT NULL,
            PRIMARY KEY (tenant_id, key),
            CONSTRAINT flags_kind_known CHECK (kind IN ('killall', 'read_only', 'kill_user', 'kill_agent', 'kill_model', 'feature'))
        );

        CREATE TABLE killswitch.flag_history (
            tenant_id   text        NOT NULL,
            change_id   bigint      NOT NULL,
            key         text        NOT NULL,
            action      text        NOT NULL,
            before      jsonb       NULL,
            after       jsonb       NULL,
            reason      text        NOT NULL,
            actor       text        NOT NULL,
            at          timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, change_id),
            CONSTRAINT flag_history_action_known CHECK (action IN ('set', 'cleared', 'expired'))
        );
        CREATE INDEX flag_history_by_key ON killswitch.flag_history (tenant_id, key, change_id);

        CREATE TABLE killswitch.scope_versions (
            tenant_id   text   NOT NULL PRIMARY KEY,
            change_id   bigint NOT NULL
        );
        """);

    public override void Down() => Execute.Sql("""
        DROP TABLE killswitch.scope_versions;
        DROP TABLE killswitch.flag_history;
        DROP TABLE killswitch.flags;
        DROP SEQUENCE killswitch.change_ids;
        """);
}
