using System.Net;
using System.Net.Http.Json;
using Ops.Testing;
using Shouldly;
using Xunit;

namespace Ops.Modules.Usage.Tests.Integration;

public sealed class PricingTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    private UsageDatabase Db => new(host.ConnectionString);

    [Fact]
    public async Task The_catalog_is_seeded_with_the_seed_table()
    {
        var tenant = await host.CreateTenantAsync();
        var list = (await (await tenant.Read.GetAsync("/v1/pricing")).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        var versions = list["versions"]!.AsArray();
        versions.Select(v => v!["version"]!.GetValue<string>()).ShouldBe(["2026-03-01", "2026-04-15"]);
        versions.ShouldAllBe(v => v!["scope"]!.GetValue<string>() == "platform");
        var april = versions[1]!["prices"]!.AsArray().ToDictionary(p => p!["model"]!.GetValue<string>(), p => p!);
        april.Keys.Order().ShouldBe(["claude-haiku-4-7", "claude-opus-4-7", "claude-sonnet-4-7"]);
        april["claude-haiku-4-7"]["input_per_mtok"]!.GetValue<decimal>().ShouldBe(0.80m);
        april["claude-haiku-4-7"]["output_per_mtok"]!.GetValue<decimal>().ShouldBe(4m);
        april["claude-opus-4-7"]["provider"]!.GetValue<string>().ShouldBe("anthropic");
        versions[0]!["prices"]!.AsArray().Count.ShouldBe(2);
    }

    [Theory]
    [InlineData("claude-opus-4-7", "2026-05-18", "2026-04-15", true, "0.068805")]
    [InlineData("claude-haiku-4-7", "2026-04-14", "2026-03-01", false, "0")]
    [InlineData("claude-haiku-4-7", "2026-04-15", "2026-04-15", true, "0.0036696")]
    [InlineData("claude-sonnet-4-7", "2026-02-01", null, false, "0")]
    public async Task A_quote_answers_the_price_with_its_version(string model, string date, string? version, bool priced, string cost)
    {
        var tenant = await host.CreateTenantAsync();
        var quote = (await (await tenant.Read.GetAsync($"/v1/pricing/quote?model={model}&tokens_in=412&tokens_out=835&date={date}"))
            .ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        quote["version"]?.GetValue<string>().ShouldBe(version);
        quote["priced"]!.GetValue<bool>().ShouldBe(priced);
        quote["cost_usd"]!.GetValue<decimal>().ShouldBe(decimal.Parse(cost, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task A_quote_defaults_to_today_and_validates_its_parameters()
    {
        var tenant = await host.CreateTenantAsync();
        var quote = (await (await tenant.Read.GetAsync("/v1/pricing/quote?model=claude-opus-4-7&tokens_in=1000&tokens_out=0&cache_read_tokens=400"))
            .ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        quote["date"]!.GetValue<string>().ShouldBe("2026-05-18");
        quote["tier"]!.GetValue<string>().ShouldBe("standard");
        await (await tenant.Read.GetAsync("/v1/pricing/quote?model=claude-opus-4-7&tokens_in=10&tokens_out=0&cache_read_tokens=11"))
            .ShouldBeProblemAsync(HttpStatusCode.BadRequest, "cache_read_tokens");
        await (await tenant.Read.GetAsync("/v1/pricing/quote?model=claude-opus-4-7&tokens_in=10&tokens_out=0&version=nope"))
            .ShouldBeProblemAsync(HttpStatusCode.BadRequest, "version");
    }

    [Fact]
    public async Task A_platform_admin_adds_an_immutable_catalog_version_from_a_coming_day_audited()
    {
        var version = NewVersion("2026-07-01", null, ("claude-opus-4-7", 12m, 60m, null));
        var created = (await (await host.Platform.PostAsJsonAsync("/v1/admin/pricing/versions", version)).ShouldHaveStatusAsync(HttpStatusCode.Created))!;
        created["version"]!.GetValue<string>().ShouldBe("2026-07-01");
        created["scope"]!.GetValue<string>().ShouldBe("platform");

        await (await host.Platform.PostAsJsonAsync("/v1/admin/pricing/versions", version)).ShouldBeProblemAsync(HttpStatusCode.Conflict, "version");
        await (await host.Platform.PostAsJsonAsync("/v1/admin/pricing/versions", NewVersion("2026-05-18", null, ("m", 1m, 1m, null))))
            .ShouldBeProblemAsync(HttpStatusCode.BadRequest, "effective_from");
        await (await host.Platform.PostAsJsonAsync("/v1/admin/pricing/versions", NewVersion("2026-08-01", null, ("m", 1.0000001m, 1m, null))))
            .ShouldBeProblemAsync(HttpStatusCode.BadRequest, "prices[0].input_per_mtok");

        var tenant = await host.CreateTenantAsync();
        var quote = (await (await tenant.Read.GetAsync("/v1/pricing/quote?model=claude-opus-4-7&tokens_in=1000000&tokens_out=0&date=2026-07-01"))
            .ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        (quote["version"]!.GetValue<string>(), quote["cost_usd"]!.GetValue<decimal>()).ShouldBe(("2026-07-01", 12m));

        var audit = await Db.QueryAsync<(string Actor, string Model)>(
            "SELECT actor, details->'after'->'prices'->0->>'model' FROM audit.events WHERE action = 'pricing.version_created' AND details->>'target' = 'pricing:2026-07-01'");
        audit.Single().Model.ShouldBe("claude-opus-4-7");
        audit.Single().Actor.ShouldContain("bootstrap");
        await Should.ThrowAsync<Npgsql.PostgresException>(() => Db.ExecuteAsync("UPDATE usage.pricing_model_prices SET input_per_mtok = 1 WHERE version = '2026-07-01'"));
    }

    [Fact]
    public async Task A_tenant_admin_adds_negotiated_prices_that_only_its_tenant_sees_and_uses()
    {
        var acme = await host.CreateTenantAsync();
        var other = await host.CreateTenantAsync();
        var created = (await (await acme.Admin.PostAsJsonAsync("/v1/admin/pricing/versions",
                NewVersion("2026-06-01", "negotiated", ("claude-opus-4-7", 10m, 50m, new { threshold_tokens = 200_000, input_per_mtok = 20m, output_per_mtok = 75m }))))
            .ShouldHaveStatusAsync(HttpStatusCode.Created))!;
        created["version"]!.GetValue<string>().ShouldBe($"{acme.Id}/negotiated");
        created["tenant_id"]!.GetValue<string>().ShouldBe(acme.Id);

        async Task<(string Version, decimal Cost)> Quote(TestTenant tenant, string model, int tokensIn)
        {
            var quote = (await (await tenant.Read.GetAsync($"/v1/pricing/quote?model={model}&tokens_in={tokensIn}&tokens_out=1000&date=2026-06-02"))
                .ShouldHaveStatusAsync(HttpStatusCode.OK))!;
            return (quote["version"]!.GetValue<string>(), quote["cost_usd"]!.GetValue<decimal>());
        }

        (await Quote(acme, "claude-opus-4-7", 1000)).ShouldBe(($"{acme.Id}/negotiated", 0.06m));
        (await Quote(acme, "claude-opus-4-7", 200_001)).ShouldBe(($"{acme.Id}/negotiated", 4.07502m), "long-context tier");
        (await Quote(acme, "claude-sonnet-4-7", 1000)).ShouldBe(("2026-04-15", 0.018m), "models it does not list use the catalog");
        (await Quote(other, "claude-opus-4-7", 1000)).ShouldBe(("2026-04-15", 0.09m), "another tenant never sees acme's prices");

        var otherList = (await (await other.Read.GetAsync("/v1/pricing")).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        otherList["versions"]!.AsArray().ShouldAllBe(v => v!["scope"]!.GetValue<string>() == "platform");
        await (await other.Admin.PostAsJsonAsync("/v1/admin/pricing/versions", new { effective_from = "2026-06-01", tenant_id = acme.Id, prices = new[] { new { model = "m", provider = "p", input_per_mtok = 1, output_per_mtok = 1 } } }))
            .ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        (await other.Read.PostAsJsonAsync("/v1/admin/pricing/versions", new { })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task The_sql_cost_formula_that_reprices_history_equals_the_one_that_prices_ingestion()
    {
        var grid =
            from tokensIn in new[] { 0, 1, 412, 199_999, 200_000, 200_001, 1_000_000 }
            from tokensOut in new[] { 0, 835, 64_000 }
            from cacheRead in new[] { 0, 100 }
            from cacheWrite in new[] { 0, 50 }
            where cacheRead + cacheWrite <= tokensIn
            select (tokensIn, tokensOut, cacheRead, cacheWrite);
        var price = new Pricing.ModelPrice("x", "p", new Pricing.TokenRates(3.123456m, 15m, 0.3m, null), new Pricing.LongContextTier(200_000, new Pricing.TokenRates(6m, 22.5m, null, 7.5m)));
        foreach (var (tokensIn, tokensOut, cacheRead, cacheWrite) in grid)
        {
            var sql = await Db.ScalarAsync<decimal>(
                """
                SELECT usage.cost_of(ROW('*', 'v', 'x', 'p', 3.123456, 15, 0.3, NULL, 200000, 6, 22.5, NULL, 7.5)::usage.pricing_model_prices,
                                     @tokensIn, @tokensOut, @cacheRead, @cacheWrite)::numeric(30,12)
                """,
                new { tokensIn = (long)tokensIn, tokensOut = (long)tokensOut, cacheRead = (long)cacheRead, cacheWrite = (long)cacheWrite });
            sql.ShouldBe(Pricing.PriceCalculator.Cost(price, new Pricing.TokenUsage(tokensIn, tokensOut, cacheRead, cacheWrite)), $"{tokensIn}/{tokensOut}/{cacheRead}/{cacheWrite}");
        }
    }

    internal static object NewVersion(string effectiveFrom, string? name, params (string Model, decimal In, decimal Out, object? LongContext)[] prices) => new
    {
        version = name,
        effective_from = effectiveFrom,
        description = "test",
        prices = prices.Select(p => new { model = p.Model, provider = "anthropic", input_per_mtok = p.In, output_per_mtok = p.Out, long_context = p.LongContext }).ToArray(),
    };
}
