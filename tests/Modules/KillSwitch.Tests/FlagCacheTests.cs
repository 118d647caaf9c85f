using System.Text.Json;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Microsoft.FeatureManagement;
using Npgsql;
using Ops.Modules.KillSwitch.Contracts;
using Ops.Modules.KillSwitch.Flags;
using Ops.Modules.Shared.Notifications;
using Shouldly;
using Xunit;

namespace Ops.Modules.KillSwitch.Tests;

/// <summary>The in-memory check: precedence, expiry, retry hints, isolation and staleness.</summary>
public sealed class FlagCacheTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 5, 18, 12, 0, 0, TimeSpan.Zero));
    private readonly ListeningSwitch _feed = new();
    private readonly FlagCache _cache;

    public FlagCacheTests()
    {
        _cache = new FlagCache(_time, _feed, Options.Create(new KillSwitchOptions()));
    }

    [Fact]
    public void The_most_general_flag_wins_platform_then_tenant_then_user_agent_model()
    {
        Load("t1", 1, Flag("kill:model:m", "model"), Flag("kill:agent:a", "agent"), Flag("kill:user:u", "user"));
        _cache.Check("t1", "u", "a", "m").Scope.ShouldBe(KillScope.User);
        _cache.Check("t1", "x", "a", "m").Scope.ShouldBe(KillScope.Agent);
        _cache.Check("t1", "x", "x", "m").Scope.ShouldBe(KillScope.Model);

        Load("t1", 2, Flag("killall", "tenant"), Flag("kill:user:u", "user"));
        _cache.Check("t1", "u").Scope.ShouldBe(KillScope.Tenant);
        Load("*", 3, Flag("killall", "platform"));
        var verdict = _cache.Check("t1", "u");
        verdict.Scope.ShouldBe(KillScope.Platform);
        verdict.Reason.ShouldBe("platform");
        _cache.Check("t2").Scope.ShouldBe(KillScope.Platform, "a platform kill reaches tenants without flags");
    }

    [Fact]
    public void A_kill_with_an_expiry_counts_down_and_ends_exactly_at_it()
    {
        Load("t1", 1, Flag("kill:user:u", "cool-off", _time.GetUtcNow().AddSeconds(90.5)));
        _cache.Check("t1", "u").RetryAfterSeconds.ShouldBe(91);
        _time.Advance(TimeSpan.FromSeconds(90));
        _cache.Check("t1", "u").RetryAfterSeconds.ShouldBe(1);
        _time.Advance(TimeSpan.FromSeconds(0.5));
        _cache.Check("t1", "u").Killed.ShouldBeFalse();
        _cache.GetFlags("t1").ShouldBeEmpty("expired flags are not listed to agents");
    }

    [Fact]
    public void Flags_that_are_false_and_other_tenants_flags_never_stop_anything()
    {
        Load("t1", 1, Flag("killall", "off", value: false), Flag("read_only", "off", value: false));
        Load("t2", 2, Flag("killall", "t2 only"), Flag("read_only", "t2 only"));
        var verdict = _cache.Check("t1", "u");
        verdict.Killed.ShouldBeFalse();
        verdict.ReadOnly.ShouldBeFalse();
        verdict.RetryAfterSeconds.ShouldBeNull();
        _cache.GetFlags("t1").Count.ShouldBe(2, "switched-off flags are still listed");
    }

    [Fact]
    public void An_older_load_never_replaces_a_newer_one()
    {
        Load("t1", 5, Flag("kill:user:u", "newer"));
        Load("t1", 4);
        _cache.Check("t1", "u").Reason.ShouldBe("newer");
        Load("t1", 6);
        _cache.Check("t1", "u").Killed.ShouldBeFalse();
    }

    [Fact]
    public void Stale_when_never_loaded_when_behind_or_when_not_listening_past_the_refresh_interval()
    {
        _cache.IsStale.ShouldBeTrue("nothing was ever loaded");
        _cache.MarkFullLoad();
        _cache.IsStale.ShouldBeFalse();

        _feed.IsListening = false;
        _time.Advance(TimeSpan.FromSeconds(30));
        _cache.IsStale.ShouldBeFalse("the last refresh is still within the interval");
        _time.Advance(TimeSpan.FromSeconds(1));
        _cache.IsStale.ShouldBeTrue();
        _cache.Check("t1").Stale.ShouldBeTrue();

        _cache.MarkFullLoad();
        _cache.IsStale.ShouldBeFalse("a successful refresh without the feed is fresh for one interval");
        _feed.IsListening = true;
        _time.Advance(TimeSpan.FromMinutes(5));
        _cache.IsStale.ShouldBeFalse("listening: notifications keep it exact");
        _cache.MarkBehind(true);
        _cache.IsStale.ShouldBeTrue("a notified change could not be loaded");
    }

    private void Load(string scopeId, long version, params FlagState[] flags) =>
        _cache.Apply(ScopeFlags.Create(scopeId, version, flags, new Dictionary<string, FeatureDefinition>()));

    private FlagState Flag(string key, string reason, DateTimeOffset? expiresAt = null, bool value = true)
    {
        FlagKeys.TryParse(key, out var parsed, out _).ShouldBeTrue();
        return new FlagState
        {
            Key = key,
            Kind = parsed.Kind,
            Scope = FlagScope.Tenant,
            Value = JsonSerializer.SerializeToElement(value),
            Reason = reason,
            SetBy = "test",
            SetAt = _time.GetUtcNow(),
            ExpiresAt = expiresAt,
            ChangeId = 1,
        };
    }

    private sealed class ListeningSwitch : IChangeFeed
    {
        public bool IsListening { get; set; } = true;

        public Task PublishAsync(string topic, string payload, NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task PublishAsync(string topic, string payload, CancellationToken cancellationToken) => Task.CompletedTask;

        public IDisposable Subscribe(string topic, Action<ChangeNotification> handler) => new CancellationTokenSource();
    }
}
