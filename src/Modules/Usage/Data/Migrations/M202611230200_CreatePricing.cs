using FluentMigrator;

namespace Ops.Modules.Usage.Data.Migrations;

/// <summary>
/// Versioned pricing (ADR 0022): immutable versions of USD-per-1M-token prices, the platform catalog
/// (tenant_id '*') and tenants' own negotiated versions; reprice assignments; seeded with the seed's table.
/// </summary>
[Migration(202611230200, "Usage pricing versions, seeded")]
internal sealed class M202611230200_CreatePricing : Migration
{
    public override void Up() => Execute.Sql("""
        CREATE TABLE usage.pricing_versions (
            tenant_id       text        NOT NULL,   -- '*' = the platform catalog, else the tenant owning the version
            version         text        NOT NULL,   -- unique id; a tenant's versions are '<tenant>/<name>'
            seq             bigint      GENERATED ALWAYS AS IDENTITY,
            effective_from  date        NOT NULL,
            description     text        NULL,
            created_at      timestamptz NOT NULL,
            created_by      text        NOT NULL,
            PRIMARY KEY (tenant_id, version),
            UNIQUE (version)
        );

        CREATE TABLE usage.pricing_model_prices (
            tenant_id                 text          NOT NULL,
            version                   text          NOT NULL,
            model                     text          NOT NULL,
            provider                  text          NOT NULL,
            input_per_mtok            numeric(18,6) NOT NULL,
            output_per_mtok           numeric(18,6) NOT NULL,
            cache_read_per_mtok       numeric(18,6) NULL,
            cache_write_per_mtok      numeric(18,6) NULL,
            long_context_threshold    integer       NULL,
            long_input_per_mtok       numeric(18,6) NULL,
            long_output_per_mtok      numeric(18,6) NULL,
            long_cache_read_per_mtok  numeric(18,6) NULL,
            long_cache_write_per_mtok numeric(18,6) NULL,
            PRIMARY KEY (tenant_id, version, model),
            FOREIGN KEY (tenant_id, version) REFERENCES usage.pricing_versions (tenant_id, version),
            CHECK ((long_context_threshold IS NULL) = (long_input_per_mtok IS NULL)
                   AND (long_context_threshold IS NULL) = (long_output_per_mtok IS NULL))
        );

        -- Versions are immutable: a price that changes is a new version (and history changes only by reprice).
        CREATE FUNCTION usage.forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'pricing versions are immutable (% on %)', TG_OP, TG_TABLE_NAME;
        END;
        $$;
        CREATE TRIGGER pricing_versions_immutable BEFORE UPDATE OR DELETE ON usage.pricing_versions
            FOR EACH ROW EXECUTE FUNCTION usage.forbid_change();
        CREATE TRIGGER pricing_model_prices_immutable BEFORE UPDATE OR DELETE ON usage.pricing_model_prices
            FOR EACH ROW EXECUTE FUNCTION usage.forbid_change();

        -- Reprices: for the days of the range (and the models named, or all), this tenant's events are priced with
        -- the version from now on, late events included; models it does not list are unpriced. The newest
        -- assignment covering a (day, model) wins. Also the repricing history.
        CREATE TABLE usage.pricing_assignments (
            tenant_id       text           NOT NULL,
            id              bigint         GENERATED ALWAYS AS IDENTITY,
            from_day        date           NOT NULL,
            to_day          date           NOT NULL,
            version         text           NOT NULL REFERENCES usage.pricing_versions (version),
            models          text[]         NULL,
            assigned_at     timestamptz    NOT NULL,
            assigned_by     text           NOT NULL,
            reason          text           NULL,
            events          bigint         NOT NULL,
            cost_before_usd numeric(30,12) NOT NULL,
            cost_after_usd  numeric(30,12) NOT NULL,
            PRIMARY KEY (tenant_id, id),
            CHECK (from_day <= to_day)
        );

        -- The cost formula of PriceCalculator, for set-based reprices (a test holds the two equal).
        CREATE FUNCTION usage.cost_of(p usage.pricing_model_prices, tokens_in bigint, tokens_out bigint, cache_read bigint, cache_write bigint)
        RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT CASE
                WHEN p.long_context_threshold IS NOT NULL AND tokens_in > p.long_context_threshold THEN
                    ((tokens_in - cache_read - cache_write) * p.long_input_per_mtok
                     + cache_read * coalesce(p.long_cache_read_per_mtok, p.long_input_per_mtok)
                     + cache_write * coalesce(p.long_cache_write_per_mtok, p.long_input_per_mtok)
                     + tokens_out * p.long_output_per_mtok) * 0.000001
                ELSE
                    ((tokens_in - cache_read - cache_write) * p.input_per_mtok
                     + cache_read * coalesce(p.cache_read_per_mtok, p.input_per_mtok)
                     + cache_write * coalesce(p.cache_write_per_mtok, p.input_per_mtok)
                     + tokens_out * p.output_per_mtok) * 0.000001
            END
        $$;

        -- The seed's table (USD per 1M tokens).
        INSERT INTO usage.pricing_versions (tenant_id, version, effective_from, description, created_at, created_by) VALUES
            ('*', '2026-03-01', '2026-03-01', 'Seed price table: Claude Opus and Sonnet 4.7', '2026-03-01T00:00:00Z', 'system:seed'),
            ('*', '2026-04-15', '2026-04-15', 'Seed price table: Claude Haiku 4.7 added', '2026-04-15T00:00:00Z', 'system:seed');
        INSERT INTO usage.pricing_model_prices (tenant_id, version, model, provider, input_per_mtok, output_per_mtok) VALUES
            ('*', '2026-03-01', 'claude-opus-4-7',   'anthropic', 15.00, 75.00),
            ('*', '2026-03-01', 'claude-sonnet-4-7', 'anthropic',  3.00, 15.00),
            ('*', '2026-04-15', 'claude-opus-4-7',   'anthropic', 15.00, 75.00),
            ('*', '2026-04-15', 'claude-sonnet-4-7', 'anthropic',  3.00, 15.00),
            ('*', '2026-04-15', 'claude-haiku-4-7',  'anthropic',  0.80,  4.00);
        """);

    public override void Down() => Execute.Sql("""
        DROP FUNCTION usage.cost_of(usage.pricing_model_prices, bigint, bigint, bigint, bigint);
        DROP TABLE usage.pricing_assignments, usage.pricing_model_prices, usage.pricing_versions;
        DROP FUNCTION usage.forbid_change();
        """);
}
