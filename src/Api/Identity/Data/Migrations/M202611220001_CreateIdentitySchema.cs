using FluentMigrator;

namespace Ops.Api.Identity.Data.Migrations;

[Migration(202611220001, "Tenants and API keys")]
internal sealed class M202611220001_CreateIdentitySchema : Migration
{
    public override void Up()
    {
        Execute.Sql("""
            CREATE TABLE identity.tenants (
                tenant_id   text        NOT NULL PRIMARY KEY,
                name        text        NOT NULL,
                created_at  timestamptz NOT NULL,
                created_by  text        NOT NULL
            );

            -- tenant_id leads the key so the table distributes by tenant; prefix is globally unique because
            -- authentication finds a key by its public prefix alone.
            CREATE TABLE identity.api_keys (
                tenant_id          text        NOT NULL REFERENCES identity.tenants (tenant_id),
                key_id             uuid        NOT NULL,
                name               text        NOT NULL,
                prefix             text        NOT NULL,
                secret_hash        bytea       NOT NULL,
                roles              text[]      NOT NULL,
                is_platform_admin  boolean     NOT NULL DEFAULT false,
                created_at         timestamptz NOT NULL,
                created_by         text        NOT NULL,
                expires_at         timestamptz NULL,
                revoked_at         timestamptz NULL,
                revoked_by         text        NULL,
                last_used_at       timestamptz NULL,
                PRIMARY KEY (tenant_id, key_id),
                CONSTRAINT api_keys_prefix_unique UNIQUE (prefix),
                CONSTRAINT api_keys_roles_known CHECK (roles <@ ARRAY['ingest', 'read', 'admin']::text[] AND cardinality(roles) > 0)
            );
            CREATE UNIQUE INDEX api_keys_key_id ON identity.api_keys (key_id);
            """);
    }

    public override void Down()
    {
        Execute.Sql("DROP TABLE identity.api_keys; DROP TABLE identity.tenants;");
    }
}
