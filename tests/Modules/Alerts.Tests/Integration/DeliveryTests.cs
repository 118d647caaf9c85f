using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Ops.Testing;
using Shouldly;
using Xunit;
using static Ops.Modules.Alerts.Tests.Integration.AlertsApi;
using static Ops.Testing.UsageEvents;

namespace Ops.Modules.Alerts.Tests.Integration;

/// <summary>Channels and the outbox against real HTTP receivers on loopback.</summary>
public sealed class DeliveryTests(AlertsTestHost host) : IClassFixture<AlertsTestHost>, IAsyncLifetime
{
    private readonly WebhookReceiver _receiver = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _receiver.DisposeAsync();

    [Fact]
    public async Task A_receiver_can_verify_the_signature_and_freshness_of_fired_and_resolved_notifications()
    {
        var tenant = await FiringTenantAsync();
        var (channelId, secret) = await tenant.Admin.AddChannelAsync("ops-hook", _receiver.Url("signed"));

        var fired = (await tenant.Admin.EvaluateAsync())["fired"]!.AsArray().Single()!;
        var queued = fired["deliveries"]!.AsArray().Single()!;
        queued["channel_name"]!.GetValue<string>().ShouldBe("ops-hook");
        queued["status"]!.GetValue<string>().ShouldBeOneOf("pending", "delivered"); // sent after the evaluation commits, maybe already
        await EventuallyAsync(() => Task.FromResult(_receiver.Received("signed").Count == 1), TimeSpan.FromSeconds(10), "the webhook arrives");

        var request = _receiver.Received("signed")[0];
        request.Header("content-type").ShouldStartWith("application/json");
        request.Header("x-ops-event").ShouldBe("fired");
        var timestamp = request.Header("x-ops-timestamp");
        long.Parse(timestamp, CultureInfo.InvariantCulture).ShouldBe(host.Time.GetUtcNow().ToUnixTimeSeconds());
        // What a receiver does: HMAC-SHA256 with the channel's secret over "{timestamp}.{raw body}".
        var expected = Sign(secret, timestamp, request.Body);
        request.Header("x-ops-signature").ShouldBe(expected);
        var tampered = Sign(secret, (long.Parse(timestamp, CultureInfo.InvariantCulture) + 1).ToString(CultureInfo.InvariantCulture), request.Body);
        request.Header("x-ops-signature").ShouldNotBe(tampered, "the timestamp is signed: a replay with a fresh timestamp fails");
        var body = request.Json;
        body["event"]!.GetValue<string>().ShouldBe("fired");
        body["tenant_id"]!.GetValue<string>().ShouldBe(tenant.Id);
        body["alert"]!["key"]!.GetValue<string>().ShouldBe("errors_critical_24h");
        body["alert"]!["value"]!.GetValue<decimal>().ShouldBe(1m);

        await EventuallyAsync(async () => (await tenant.Read.AlertsAsync())[0]!["deliveries"]![0]!["status"]!.GetValue<string>() == "delivered", TimeSpan.FromSeconds(5), "the delivery is recorded");
        var logged = (await tenant.Read.AlertsAsync())[0]!;
        logged["notified_channels"]!.AsArray().Select(c => c!.GetValue<string>()).ShouldBe(["ops-hook"]);
        var delivery = logged["deliveries"]![0]!;
        delivery["channel_id"]!.GetValue<Guid>().ShouldBe(channelId);
        delivery["event"]!.GetValue<string>().ShouldBe("fired");
        delivery["attempts"]!.GetValue<int>().ShouldBe(1);
        delivery["delivered_at"]!.GetValue<DateTimeOffset>().ShouldBe(host.Time.GetUtcNow());

        await tenant.Admin.SetRuleAsync("errors_critical_24h", new { enabled = true, threshold = 1 });
        (await tenant.Admin.EvaluateAsync())["resolved"]!.AsArray().Count.ShouldBe(1);
        await EventuallyAsync(() => Task.FromResult(_receiver.Received("signed").Count == 2), TimeSpan.FromSeconds(10), "the resolve arrives");
        var resolved = _receiver.Received("signed")[1];
        resolved.Json["event"]!.GetValue<string>().ShouldBe("resolved");
        resolved.Json["alert"]!["resolved_at"]!.GetValue<DateTimeOffset>().ShouldBe(host.Time.GetUtcNow());
        resolved.Header("x-ops-delivery").ShouldNotBe(request.Header("x-ops-delivery"));
    }

    [Fact]
    public async Task A_500_is_retried_with_backoff_until_it_succeeds_and_a_400_fails_at_once()
    {
        var tenant = await FiringTenantAsync();
        _receiver.Script("flaky", 500, 503);
        _receiver.Script("rejects", 400);
        await tenant.Admin.AddChannelAsync("flaky", _receiver.Url("flaky"));
        await tenant.Admin.AddChannelAsync("rejects", _receiver.Url("rejects"));
        await tenant.Admin.EvaluateAsync();

        await EventuallyAsync(() => Task.FromResult(_receiver.Received("flaky").Count == 1), TimeSpan.FromSeconds(10), "the first attempt");
        await Task.Delay(300);
        _receiver.Received("flaky").Count.ShouldBe(1, "the retry waits for its backoff (1 s on the test clock)");

        // Advance the test clock in steps: attempt 2 after 1 s, attempt 3 after 2 more.
        await EventuallyAsync(async () => Delivery(await tenant.Read.AlertsAsync(), "flaky")["status"]!.GetValue<string>() == "delivered",
            TimeSpan.FromSeconds(20), "the third attempt succeeds", advance: host.Time, step: TimeSpan.FromMilliseconds(500));
        var flaky = Delivery(await tenant.Read.AlertsAsync(), "flaky");
        flaky["attempts"]!.GetValue<int>().ShouldBe(3);
        flaky["last_error"].ShouldBeNull();
        var attempts = _receiver.Received("flaky");
        attempts.Count.ShouldBe(3);
        attempts.Select(a => a.Header("x-ops-delivery")).Distinct().Count().ShouldBe(1, "retries carry the same delivery id");

        var rejected = Delivery(await tenant.Read.AlertsAsync(), "rejects");
        rejected["status"]!.GetValue<string>().ShouldBe("failed");
        rejected["attempts"]!.GetValue<int>().ShouldBe(1);
        rejected["last_error"]!.GetValue<string>().ShouldContain("400");
        _receiver.Received("rejects").Count.ShouldBe(1);
    }

    [Fact]
    public async Task A_hanging_channel_times_out_without_delaying_the_evaluation_or_other_channels()
    {
        var tenant = await FiringTenantAsync();
        _receiver.Hang("hangs");
        await tenant.Admin.AddChannelAsync("a-hangs", _receiver.Url("hangs"));
        await tenant.Admin.AddChannelAsync("b-fast", _receiver.Url("fast"));
        await tenant.Admin.AddChannelAsync("c-slack", _receiver.Url("slack"), kind: "slack");

        var clock = Stopwatch.StartNew();
        await tenant.Admin.EvaluateAsync();
        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromMilliseconds(AlertsTestHost.DeliveryTimeoutMs), "the evaluation never waits for a channel");
        await EventuallyAsync(() => Task.FromResult(_receiver.Received("fast").Count == 1 && _receiver.Received("slack").Count == 1), TimeSpan.FromSeconds(10), "the healthy channels get theirs");
        var hung = _receiver.Received("hangs").Single();
        (_receiver.Received("fast")[0].ReceivedAtUtc - hung.ReceivedAtUtc).ShouldBeLessThan(TimeSpan.FromMilliseconds(AlertsTestHost.DeliveryTimeoutMs), "not behind the hanging one");
        _receiver.Received("slack")[0].Json["text"]!.GetValue<string>().ShouldContain("`errors_critical_24h`");

        await EventuallyAsync(async () => Delivery(await tenant.Read.AlertsAsync(), "a-hangs")["last_error"]?.GetValue<string>().Contains("timed out", StringComparison.Ordinal) == true,
            TimeSpan.FromSeconds(10), "the hanging attempt times out");
        var hanging = Delivery(await tenant.Read.AlertsAsync(), "a-hangs");
        hanging["status"]!.GetValue<string>().ShouldBe("pending", "a timeout is retried");
        hanging["attempts"]!.GetValue<int>().ShouldBe(1);
        Delivery(await tenant.Read.AlertsAsync(), "b-fast")["status"]!.GetValue<string>().ShouldBe("delivered");
    }

    private static string Sign(string secret, string timestamp, byte[] body)
    {
        byte[] message = [.. Encoding.ASCII.GetBytes(timestamp + "."), .. body];
        return "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), message));
    }

    private static JsonNode Delivery(JsonArray alerts, string channel) =>
        alerts[0]!["deliveries"]!.AsArray().Single(d => d!["channel_name"]!.GetValue<string>() == channel)!;

    /// <summary>A tenant whose only enabled rule (critical errors) fires at the next evaluation.</summary>
    private async Task<TestTenant> FiringTenantAsync()
    {
        var tenant = await host.CreateTenantAsync();
        await tenant.Admin.OnlyRuleAsync("errors_critical_24h");
        await tenant.Ingest.IngestAsync(Event("crit", host.Time.GetUtcNow(), new { status = "error", severity = "critical" }));
        await host.UntilSignalsAsync(tenant.Id, s => s.CriticalErrors24h == 1);
        return tenant;
    }
}
