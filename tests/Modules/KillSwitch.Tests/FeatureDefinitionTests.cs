using System.Text.Json;
using Microsoft.FeatureManagement;
using Ops.Modules.KillSwitch.FeatureFlags;
using Shouldly;
using Xunit;

namespace Ops.Modules.KillSwitch.Tests;

public sealed class FeatureDefinitionTests
{
    [Fact]
    public async Task Microsofts_schema_parses_with_snake_case_or_PascalCase_parameters()
    {
        var value = JsonSerializer.SerializeToElement(new
        {
            enabled = true,
            conditions = new
            {
                requirement_type = "All",
                client_filters = new object[]
                {
                    new { name = "Targeting", parameters = new { audience = new { users = new[] { "a" }, default_rollout_percentage = 20 } } },
                    new { name = "Microsoft.TimeWindow", parameters = new { Start = "2026-05-01T00:00:00Z" } },
                },
            },
        });
        FeatureDefinitions.Validate("f", value).ShouldBeEmpty();
        var definition = await FeatureDefinitions.BuildAsync("t/f", value);
        definition.Name.ShouldBe("t/f");
        definition.RequirementType.ShouldBe(RequirementType.All);
        definition.EnabledFor.Select(f => f.Name).ShouldBe(["Microsoft.Targeting", "Microsoft.TimeWindow"]);
        definition.EnabledFor.First().Parameters["Audience:DefaultRolloutPercentage"].ShouldBe("20");
    }

    [Fact]
    public async Task Booleans_are_always_on_or_off()
    {
        (await FeatureDefinitions.BuildAsync("t/on", JsonSerializer.SerializeToElement(true))).EnabledFor.Single().Name.ShouldBe("AlwaysOn");
        (await FeatureDefinitions.BuildAsync("t/off", JsonSerializer.SerializeToElement(false))).Status.ShouldBe(FeatureStatus.Disabled);
    }

    [Fact]
    public void An_id_other_than_the_key_is_refused()
    {
        FeatureDefinitions.Validate("f", JsonSerializer.SerializeToElement(new { id = "g", enabled = true }))
            .Select(e => e.Field).ShouldBe(["value.id"]);
    }

    [Fact]
    public void The_sticky_percentage_bucket_is_stable_and_spread()
    {
        StickyPercentageFilter.Bucket("t/f", "u_1").ShouldBe(StickyPercentageFilter.Bucket("t/f", "u_1"));
        StickyPercentageFilter.Bucket("t/f", "u_1").ShouldNotBe(StickyPercentageFilter.Bucket("t/g", "u_1"), "each feature buckets users independently");
        var buckets = Enumerable.Range(0, 10_000).Select(i => StickyPercentageFilter.Bucket("t/f", $"user-{i}")).ToList();
        buckets.ShouldAllBe(b => b >= 0 && b < 100);
        buckets.Count(b => b < 25).ShouldBeInRange(2300, 2700);
    }
}
