using System.Net;
using Ops.Testing;
using Shouldly;
using Xunit;

namespace Ops.Modules.KillSwitch.Tests;

/// <summary>GET /v1/flags/stream: snapshot, live changes, heartbeats and Last-Event-ID resume.</summary>
public sealed class FlagStreamTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    private const string Path = "/v1/flags/stream";

    [Fact]
    public async Task A_stream_starts_with_a_snapshot_then_delivers_the_tenants_changes_only()
    {
        var tenant = await host.CreateTenantAsync();
        var other = await host.CreateTenantAsync();
        await tenant.Admin.SetFlagAsync("kill:agent:bot", true, reason: "loop");

        await using var stream = await SseStream.OpenAsync(tenant.Ingest, Path);
        var snapshot = await stream.NextAsync();
        snapshot.Event.ShouldBe("snapshot");
        snapshot.Data["flags"]!.AsArray().Select(f => f!["key"]!.GetValue<string>()).ShouldBe(["kill:agent:bot"]);
        snapshot.Data["flags"]![0]!["set_by"].ShouldBeNull("agents do not see operator identities");
        snapshot.Data["stale"]!.GetValue<bool>().ShouldBeFalse();

        await other.Admin.SetFlagAsync("killall", true);
        await tenant.Admin.SetFlagAsync("kill:user:u_1", true, reason: "abuse", expiresAt: host.Time.GetUtcNow().AddHours(1));
        var change = await stream.NextAsync();
        change.Event.ShouldBe("flag");
        change.Data["action"]!.GetValue<string>().ShouldBe("set");
        change.Data["key"]!.GetValue<string>().ShouldBe("kill:user:u_1", "another tenant's killall is never streamed here");
        change.Data["flag"]!["reason"]!.GetValue<string>().ShouldBe("abuse");
        change.Data["flag"]!["expires_at"].ShouldNotBeNull();
        long.Parse(change.Id!, System.Globalization.CultureInfo.InvariantCulture).ShouldBeGreaterThan(long.Parse(snapshot.Id!, System.Globalization.CultureInfo.InvariantCulture));

        await tenant.Admin.ClearFlagAsync("kill:agent:bot", "fixed");
        var cleared = await stream.NextAsync();
        cleared.Data["action"]!.GetValue<string>().ShouldBe("cleared");
        cleared.Data["flag"].ShouldBeNull();
        cleared.Data["reason"]!.GetValue<string>().ShouldBe("fixed");
    }

    [Fact]
    public async Task Platform_flags_reach_every_tenants_stream()
    {
        var tenant = await host.CreateTenantAsync();
        await using var stream = await SseStream.OpenAsync(tenant.Read, Path);
        (await stream.NextAsync()).Event.ShouldBe("snapshot");
        await host.Platform.SetFlagAsync("killall", true, reason: "provider incident", scope: "platform");
        try
        {
            var change = await stream.NextAsync();
            change.Data["key"]!.GetValue<string>().ShouldBe("killall");
            change.Data["scope"]!.GetValue<string>().ShouldBe("platform");
        }
        finally
        {
            await host.Platform.ClearFlagAsync("killall", scope: "platform");
        }
    }

    [Fact]
    public async Task Reconnecting_with_Last_Event_ID_replays_only_what_was_missed()
    {
        var tenant = await host.CreateTenantAsync();
        string lastId;
        await using (var stream = await SseStream.OpenAsync(tenant.Ingest, Path))
        {
            lastId = (await stream.NextAsync()).Id!;
        }

        await tenant.Admin.SetFlagAsync("kill:user:a", true);
        await tenant.Admin.SetFlagAsync("kill:user:b", true);
        await tenant.Admin.ClearFlagAsync("kill:user:a");

        await using (var resumed = await SseStream.OpenAsync(tenant.Ingest, Path, lastId))
        {
            var replay = new[] { await resumed.NextAsync(), await resumed.NextAsync(), await resumed.NextAsync() };
            replay.Select(e => (e.Event, e.Data["action"]!.GetValue<string>(), e.Data["key"]!.GetValue<string>()))
                .ShouldBe([("flag", "set", "kill:user:a"), ("flag", "set", "kill:user:b"), ("flag", "cleared", "kill:user:a")]);
            lastId = replay[^1].Id!;

            await tenant.Admin.SetFlagAsync("kill:user:c", true);
            var live = await resumed.NextAsync();
            live.Data["key"]!.GetValue<string>().ShouldBe("kill:user:c");
        }

        await using var unknown = await SseStream.OpenAsync(tenant.Ingest, Path, "999999999");
        var snapshot = await unknown.NextAsync();
        snapshot.Event.ShouldBe("snapshot", "an id this server never issued gets a full snapshot");
        snapshot.Data["flags"]!.AsArray().Select(f => f!["key"]!.GetValue<string>()).Order().ShouldBe(["kill:user:b", "kill:user:c"]);
    }

    [Fact]
    public async Task An_idle_stream_sends_heartbeats()
    {
        var tenant = await host.CreateTenantAsync();
        await using var stream = await SseStream.OpenAsync(tenant.Ingest, Path);
        (await stream.NextAsync()).Event.ShouldBe("snapshot");
        var heartbeat = stream.NextAsync();
        await FlagApi.EventuallyAsync(
            () =>
            {
                host.Time.Advance(TimeSpan.FromSeconds(15));
                return Task.FromResult(heartbeat.IsCompleted);
            },
            TimeSpan.FromSeconds(10),
            "a heartbeat arrives");
        var beat = await heartbeat;
        beat.Event.ShouldBe("heartbeat");
        beat.Id.ShouldBeNull("heartbeats do not move Last-Event-ID");
        beat.Data["stale"]!.GetValue<bool>().ShouldBeFalse();
    }

    [Fact]
    public async Task The_stream_needs_an_ingest_or_read_key()
    {
        (await host.CreateClient().GetAsync("/v1/flags/stream")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }
}
