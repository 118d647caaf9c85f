using System.Net;
using Ops.Testing;
using Shouldly;
using Xunit;
using static Ops.Modules.Usage.Tests.Integration.EventRequests;
using static Ops.Testing.UsageEvents;

namespace Ops.Modules.Usage.Tests.Integration;

/// <summary>
/// A small known data set for the metrics queries. Now is <see cref="OpsTestHost.Epoch"/>: Monday 2026-05-18 12:00 UTC,
/// so rolling windows end at 13:00 (the current hour included) and ISO weeks start on 05-18, 05-11, …, 04-13.
/// Seed prices per 1M input tokens: Opus $15, Sonnet $3, Haiku $0.80 (Sonnet output $15).
/// </summary>
internal static class MetricsData
{
    public static readonly DateTimeOffset M1 = new(2026, 5, 18, 11, 30, 0, TimeSpan.Zero);  // sonnet $3, a, bot-1, slack, s1, 1000 ms
    public static readonly DateTimeOffset M2 = new(2026, 5, 18, 2, 15, 0, TimeSpan.Zero);   // opus $15, b, bot-2, web, s2, 2000 ms, error
    public static readonly DateTimeOffset M3 = new(2026, 5, 17, 23, 59, 59, TimeSpan.Zero); // haiku $0.80, a, bot-1, slack, s1, 500 ms
    public static readonly DateTimeOffset M4 = new(2026, 5, 17, 12, 30, 0, TimeSpan.Zero);  // sonnet $3, c (no agent/channel/session): just outside 24h
    public static readonly DateTimeOffset M5 = new(2026, 5, 11, 10, 0, 0, TimeSpan.Zero);   // sonnet 0.5M in + 0.1M out = $3, d, bot-1: outside 7d
    public static readonly DateTimeOffset M6 = new(2026, 4, 18, 13, 0, 0, TimeSpan.Zero);   // sonnet $3, e: the first hour of 30d
    public static readonly DateTimeOffset M7 = new(2026, 4, 18, 12, 59, 0, TimeSpan.Zero);  // sonnet $3, e: just before 30d

    public static async Task LoadAsync(TestTenant tenant)
    {
        (await tenant.Ingest.PostEventsAsync([
            Event("m1", M1, new { user_id = "a", agent_id = "bot-1", channel = "slack", session_id = "s1", tokens_in = 1_000_000, tokens_out = 0, latency_ms = 1000 }),
            Event("m2", M2, new { user_id = "b", agent_id = "bot-2", channel = "web", session_id = "s2", model = "claude-opus-4-7", tokens_in = 1_000_000, tokens_out = 0, latency_ms = 2000, status = "error", action = "chat.reply" }),
            Event("m3", M3, new { user_id = "a", agent_id = "bot-1", channel = "slack", session_id = "s1", model = "claude-haiku-4-7", tokens_in = 1_000_000, tokens_out = 0, latency_ms = 500 }),
            Event("m4", M4, new { user_id = "c", tokens_in = 1_000_000, tokens_out = 0 }),
            Event("m5", M5, new { user_id = "d", agent_id = "bot-1", tokens_in = 500_000, tokens_out = 100_000 }),
            Event("m6", M6, new { user_id = "e", tokens_in = 1_000_000, tokens_out = 0 }),
            Event("m7", M7, new { user_id = "e", tokens_in = 1_000_000, tokens_out = 0 }),
        ])).StatusCode.ShouldBe(HttpStatusCode.OK);
    }
}

/// <summary>
/// A test class over <see cref="MetricsData"/>: a tenant holding it, and another tenant with one call of its own
/// (user zed, agent bot-1, channel sms, session sx, 2M Sonnet input tokens = $6, an error), both folded.
/// </summary>
public abstract class MetricsDataTests(OpsTestHost host) : IAsyncLifetime
{
    protected OpsTestHost Host => host;

    protected TestTenant Tenant { get; private set; } = null!;

    protected TestTenant Other { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Tenant = await host.CreateTenantAsync();
        Other = await host.CreateTenantAsync();
        await MetricsData.LoadAsync(Tenant);
        (await Other.Ingest.PostEventsAsync([
            Event("x1", MetricsData.M1, new { user_id = "zed", agent_id = "bot-1", channel = "sms", session_id = "sx", tokens_in = 2_000_000, tokens_out = 0, status = "error" }),
        ])).StatusCode.ShouldBe(HttpStatusCode.OK);
        await host.FoldAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;
}
