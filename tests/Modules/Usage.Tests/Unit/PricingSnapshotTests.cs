using Ops.Modules.Usage.Pricing;
using Shouldly;
using Xunit;

namespace Ops.Modules.Usage.Tests.Unit;

public sealed class PricingSnapshotTests
{
    private const string Opus = "claude-opus-4-7";
    private const string Sonnet = "claude-sonnet-4-7";
    private const string Haiku = "claude-haiku-4-7";

    private static readonly DateTimeOffset Created = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The seed's table, as the migration seeds it.</summary>
    internal static readonly PricingVersion March = Version("2026-03-01", null, new DateOnly(2026, 3, 1), 1, (Opus, 15m, 75m), (Sonnet, 3m, 15m));
    internal static readonly PricingVersion April = Version("2026-04-15", null, new DateOnly(2026, 4, 15), 2, (Opus, 15m, 75m), (Sonnet, 3m, 15m), (Haiku, 0.80m, 4m));

    private static readonly PricingSnapshot Seed = new([April, March], 2);

    [Theory]
    [InlineData("2026-02-28", Opus, null, false)]
    [InlineData("2026-03-01", Opus, "2026-03-01", true)]
    [InlineData("2026-04-14", Opus, "2026-03-01", true)]
    [InlineData("2026-04-14", Haiku, "2026-03-01", false)]
    [InlineData("2026-04-15", Haiku, "2026-04-15", true)]
    [InlineData("2026-05-18", Sonnet, "2026-04-15", true)]
    [InlineData("2026-05-18", "gpt-unknown", "2026-04-15", false)]
    public void The_version_is_the_latest_effective_on_the_events_day_and_never_interpolated(string day, string model, string? version, bool priced)
    {
        var resolution = Seed.Resolve("acme", DateOnly.Parse(day, System.Globalization.CultureInfo.InvariantCulture), model, []);
        resolution.VersionId.ShouldBe(version);
        resolution.IsPriced.ShouldBe(priced);
    }

    [Fact]
    public void A_tenant_version_wins_for_the_models_it_lists_from_its_effective_date()
    {
        var negotiated = Version("acme/deal", "acme", new DateOnly(2026, 5, 1), 3, (Opus, 10m, 50m));
        var snapshot = new PricingSnapshot([March, April, negotiated], 3);

        snapshot.Resolve("acme", new DateOnly(2026, 4, 30), Opus, []).VersionId.ShouldBe("2026-04-15");
        snapshot.Resolve("acme", new DateOnly(2026, 5, 1), Opus, []).VersionId.ShouldBe("acme/deal");
        snapshot.Resolve("acme", new DateOnly(2026, 5, 1), Sonnet, []).VersionId.ShouldBe("2026-04-15", "models it does not list fall back to the catalog");
        snapshot.Resolve("other", new DateOnly(2026, 5, 1), Opus, []).VersionId.ShouldBe("2026-04-15", "another tenant's prices never apply");
        snapshot.Find("acme/deal", "other").ShouldBeNull();
        snapshot.Find("acme/deal", "acme").ShouldBe(negotiated);
        snapshot.TenantVersions("other").ShouldBeEmpty();
    }

    [Fact]
    public void A_reprice_assignment_wins_over_everything_on_its_days_and_models()
    {
        var june = Version("2026-06-01", null, new DateOnly(2026, 6, 1), 3, (Opus, 12m, 60m));
        var snapshot = new PricingSnapshot([March, April, june], 3);
        IReadOnlyList<PricingAssignment> assignments = [new PricingAssignment(2, new DateOnly(2026, 5, 10), new DateOnly(2026, 5, 12), "2026-06-01")];

        snapshot.Resolve("acme", new DateOnly(2026, 5, 10), Opus, assignments).VersionId.ShouldBe("2026-06-01");
        snapshot.Resolve("acme", new DateOnly(2026, 5, 12), Opus, assignments).VersionId.ShouldBe("2026-06-01");
        snapshot.Resolve("acme", new DateOnly(2026, 5, 13), Opus, assignments).VersionId.ShouldBe("2026-04-15", "outside the range");
        var sonnet = snapshot.Resolve("acme", new DateOnly(2026, 5, 10), Sonnet, assignments);
        (sonnet.VersionId, sonnet.IsPriced).ShouldBe(("2026-06-01", false), "priced as if the version were in effect: it does not list sonnet");
        IReadOnlyList<PricingAssignment> opusOnly = [assignments[0] with { Models = [Opus] }];
        snapshot.Resolve("acme", new DateOnly(2026, 5, 10), Sonnet, opusOnly).VersionId.ShouldBe("2026-04-15", "the reprice named opus only");
        snapshot.Resolve("acme", new DateOnly(2026, 5, 10), Opus, opusOnly).VersionId.ShouldBe("2026-06-01");

        // The newest assignment covering a day wins (they arrive newest first).
        IReadOnlyList<PricingAssignment> back = [new PricingAssignment(3, new DateOnly(2026, 5, 11), new DateOnly(2026, 5, 11), "2026-04-15"), .. assignments];
        snapshot.Resolve("acme", new DateOnly(2026, 5, 11), Opus, back).VersionId.ShouldBe("2026-04-15");
        snapshot.Resolve("acme", new DateOnly(2026, 5, 10), Opus, back).VersionId.ShouldBe("2026-06-01");
    }

    [Fact]
    public void Same_effective_date_ties_go_to_the_later_created_version()
    {
        var correction = Version("2026-04-15b", null, new DateOnly(2026, 4, 15), 3, (Opus, 14m, 70m));
        var snapshot = new PricingSnapshot([correction, March, April], 3);
        snapshot.Resolve("acme", new DateOnly(2026, 4, 20), Opus, []).VersionId.ShouldBe("2026-04-15b");
    }

    [Fact]
    public void The_provider_comes_from_the_newest_listing_of_the_model()
    {
        Seed.ProviderOf("acme", Haiku).ShouldBe("anthropic");
        Seed.ProviderOf("acme", "gpt-unknown").ShouldBeNull();
    }

    internal static PricingVersion Version(string id, string? tenant, DateOnly effective, long sequence, params (string Model, decimal In, decimal Out)[] prices) =>
        new(id, tenant, effective, sequence, prices.ToDictionary(p => p.Model, p => new ModelPrice(p.Model, "anthropic", new TokenRates(p.In, p.Out)), StringComparer.Ordinal), null, Created, "test");
}
