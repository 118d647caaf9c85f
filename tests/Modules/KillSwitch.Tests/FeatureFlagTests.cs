using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.FeatureManagement;
using Microsoft.FeatureManagement.FeatureFilters;
using Ops.Modules.KillSwitch.Contracts;
using Ops.Testing;
using Shouldly;
using Xunit;

namespace Ops.Modules.KillSwitch.Tests;

/// <summary>Customer feature flags, evaluated by Microsoft.FeatureManagement over the module's tables.</summary>
public sealed class FeatureFlagTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    private static object Filter(string name, object parameters) =>
        new { enabled = true, conditions = new { client_filters = new[] { new { name, parameters } } } };

    [Fact]
    public async Task A_boolean_feature_is_on_or_off_for_everyone_and_an_unknown_one_is_off()
    {
        var tenant = await host.CreateTenantAsync();
        await tenant.Admin.SetFlagAsync("dark-mode", true);
        await tenant.Admin.SetFlagAsync("legacy-ui", false);

        var on = await tenant.Ingest.EvaluateAsync("dark-mode", "u_1");
        on["enabled"]!.GetValue<bool>().ShouldBeTrue();
        on["defined"]!.GetValue<bool>().ShouldBeTrue();
        (await tenant.Ingest.EvaluateAsync("legacy-ui", "u_1"))["enabled"]!.GetValue<bool>().ShouldBeFalse();
        var unknown = await tenant.Read.EvaluateAsync("never-defined");
        unknown["defined"]!.GetValue<bool>().ShouldBeFalse();
        unknown["enabled"]!.GetValue<bool>().ShouldBeFalse();
        await (await tenant.Ingest.GetAsync("/v1/flags/evaluate?feature=kill:user:x")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "feature");
    }

    [Fact]
    public async Task Percentage_rollout_is_deterministic_per_user_and_close_to_the_percentage()
    {
        var tenant = await host.CreateTenantAsync();
        await tenant.Admin.SetFlagAsync("new-checkout", Filter("Microsoft.Percentage", new { Value = 30 }));

        var users = Enumerable.Range(0, 200).Select(i => $"user-{i}").ToList();
        var first = new Dictionary<string, bool>();
        foreach (var user in users)
        {
            first[user] = (await tenant.Ingest.EvaluateAsync("new-checkout", user))["enabled"]!.GetValue<bool>();
        }

        foreach (var user in users.Take(50))
        {
            (await tenant.Ingest.EvaluateAsync("new-checkout", user))["enabled"]!.GetValue<bool>().ShouldBe(first[user], $"{user} must keep its answer");
        }

        first.Count(p => p.Value).ShouldBeInRange(40, 80, "about 30 % of 200 users");

        // Raising the percentage only adds users: nobody who had the feature loses it.
        await tenant.Admin.SetFlagAsync("new-checkout", Filter("Percentage", new { value = 60 }));
        foreach (var user in users.Where(u => first[u]))
        {
            (await tenant.Ingest.EvaluateAsync("new-checkout", user))["enabled"]!.GetValue<bool>().ShouldBeTrue();
        }
    }

    [Fact]
    public async Task A_time_window_follows_the_fake_clock()
    {
        var tenant = await host.CreateTenantAsync();
        var start = host.Time.GetUtcNow().AddHours(1);
        await tenant.Admin.SetFlagAsync("black-friday", Filter("Microsoft.TimeWindow", new { Start = start.ToString("O"), End = start.AddHours(2).ToString("R") }));

        (await tenant.Ingest.EvaluateAsync("black-friday", "u_1"))["enabled"]!.GetValue<bool>().ShouldBeFalse();
        host.Time.Advance(TimeSpan.FromHours(1));
        (await tenant.Ingest.EvaluateAsync("black-friday", "u_1"))["enabled"]!.GetValue<bool>().ShouldBeTrue();
        host.Time.Advance(TimeSpan.FromHours(2));
        (await tenant.Ingest.EvaluateAsync("black-friday", "u_1"))["enabled"]!.GetValue<bool>().ShouldBeFalse();
    }

    [Fact]
    public async Task Targeting_by_user_and_group_with_exclusions()
    {
        var tenant = await host.CreateTenantAsync();
        await tenant.Admin.SetFlagAsync("beta-agent", Filter("Microsoft.Targeting", new
        {
            audience = new
            {
                users = new[] { "alice" },
                groups = new[] { new { name = "beta-testers", rollout_percentage = 100 } },
                default_rollout_percentage = 0,
                exclusion = new { users = new[] { "mallory" } },
            },
        }));

        (await tenant.Ingest.EvaluateAsync("beta-agent", "alice"))["enabled"]!.GetValue<bool>().ShouldBeTrue();
        (await tenant.Ingest.EvaluateAsync("beta-agent", "bob"))["enabled"]!.GetValue<bool>().ShouldBeFalse();
        (await tenant.Ingest.EvaluateAsync("beta-agent", "bob", "beta-testers"))["enabled"]!.GetValue<bool>().ShouldBeTrue();
        (await tenant.Ingest.EvaluateAsync("beta-agent", "carol", "staff,beta-testers"))["enabled"]!.GetValue<bool>().ShouldBeTrue("comma-separated groups");
        (await tenant.Ingest.EvaluateAsync("beta-agent", "mallory", "beta-testers"))["enabled"]!.GetValue<bool>().ShouldBeFalse("excluded users never get it");
    }

    [Fact]
    public async Task Variants_are_allocated_per_user_with_their_configuration()
    {
        var tenant = await host.CreateTenantAsync();
        await tenant.Admin.SetFlagAsync("reply-style", new
        {
            enabled = true,
            variants = new object[]
            {
                new { name = "short", configuration_value = new { max_tokens = 200 } },
                new { name = "long", configuration_value = new { max_tokens = 1200 } },
            },
            allocation = new
            {
                user = new[] { new { variant = "long", users = new[] { "vip" } } },
                percentile = new[] { new { variant = "short", from = 0, to = 100 } },
                default_when_enabled = "short",
            },
        });

        var vip = await tenant.Ingest.EvaluateAsync("reply-style", "vip");
        vip["variant"]!["name"]!.GetValue<string>().ShouldBe("long");
        vip["variant"]!["configuration"]!["max_tokens"]!.GetValue<int>().ShouldBe(1200);
        (await tenant.Ingest.EvaluateAsync("reply-style", "someone"))["variant"]!["name"]!.GetValue<string>().ShouldBe("short");
    }

    [Fact]
    public async Task IFeatureManager_evaluates_tenant_qualified_names_and_a_tenant_never_sees_another_tenants_flags()
    {
        var a = await host.CreateTenantAsync();
        var b = await host.CreateTenantAsync();
        await a.Admin.SetFlagAsync("shared-name", true);
        await b.Admin.SetFlagAsync("shared-name", false);

        var features = host.Factory.Services.GetRequiredService<IVariantFeatureManager>();
        (await features.IsEnabledAsync($"{a.Id}/shared-name", new TargetingContext { UserId = "u" })).ShouldBeTrue();
        (await features.IsEnabledAsync($"{b.Id}/shared-name", new TargetingContext { UserId = "u" })).ShouldBeFalse();
        (await host.Factory.Services.GetRequiredService<IFeatureManager>().IsEnabledAsync($"{a.Id}/shared-name")).ShouldBeTrue();
        var names = new List<string>();
        await foreach (var name in features.GetFeatureNamesAsync())
        {
            names.Add(name);
        }

        names.ShouldContain($"{a.Id}/shared-name");
        (await b.Ingest.EvaluateAsync("shared-name"))["enabled"]!.GetValue<bool>().ShouldBeFalse();
        var killSwitch = host.Factory.Services.GetRequiredService<IKillSwitch>();
        (await killSwitch.EvaluateFeatureAsync(a.Id, "shared-name", "u", null, CancellationToken.None)).Enabled.ShouldBeTrue();
    }

    [Fact]
    public async Task An_expired_feature_flag_is_off()
    {
        var tenant = await host.CreateTenantAsync();
        await tenant.Admin.SetFlagAsync("promo", true, expiresAt: host.Time.GetUtcNow().AddMinutes(10));
        (await tenant.Ingest.EvaluateAsync("promo"))["enabled"]!.GetValue<bool>().ShouldBeTrue();
        host.Time.Advance(TimeSpan.FromMinutes(10));
        var expired = await tenant.Ingest.EvaluateAsync("promo");
        expired["enabled"]!.GetValue<bool>().ShouldBeFalse();
        expired["defined"]!.GetValue<bool>().ShouldBeFalse();
    }
}
