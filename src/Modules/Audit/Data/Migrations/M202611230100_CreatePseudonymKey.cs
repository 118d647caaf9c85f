using FluentMigrator;

namespace Ops.Modules.Audit.Data.Migrations;

/// <summary>
/// The deployment's pseudonym key (one row): identifiers that contain personal data (a user_id that is an e-mail, a
/// request_id with a CPF in it) are stored as keyed pseudonyms, so they stay distinct and queryable without the data
/// itself. Generated at first start unless Modules:Audit:Redaction:PseudonymKey provides one from a secret store.
/// </summary>
[Migration(202611230100, "Pseudonym key")]
internal sealed class M202611230100_CreatePseudonymKey : Migration
{
    public override void Up() => Execute.Sql("""
        CREATE TABLE audit.pseudonym_key (
            id          smallint    NOT NULL PRIMARY KEY CHECK (id = 1),
            key_bytes   bytea       NOT NULL CHECK (length(key_bytes) >= 32),
            created_at  timestamptz NOT NULL
        );
        """);

    public override void Down() => Execute.Sql("DROP TABLE audit.pseudonym_key;");
}
