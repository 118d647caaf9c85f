using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Ops.Testing;
using Shouldly;
using static Ops.Modules.Usage.Tests.Integration.EventRequests;
using static Ops.Testing.UsageEvents;

namespace Ops.Modules.Usage.Tests.Integration;

/// <summary>
/// A small known data set for the cards and signals, around <see cref="OpsTestHost.Epoch"/> (2026-05-18 12:00 UTC). Sonnet
/// input is $3 per 1M tokens, so each priced event below costs exactly $3.
/// Today: a (11:00, latency 1000 ms, TTFT 100, up), b (11:30, 2000/300, critical error), a (02:00, 3000 ms, warning
/// error, down), c (11:50, unpriced model). Yesterday: a and d at 20:00 (in the last 24 hours), f at 12:30 (an error
/// in the hour the 24-hour window just left). Two days ago: a, b, e. Three days ago: a.
/// </summary>
internal static class CardsData
{
    public const decimal CostToday = 9m;
    public const decimal CostYesterday = 9m;

    public static async Task LoadAsync(TestTenant tenant, string prefix = "c")
    {
        var now = OpsTestHost.Epoch;
        var today = now.Date;
        var yesterday = now.AddDays(-1).Date;
        JsonObject E(string id, DateTimeOffset at, string user, object? extra = null)
        {
            var e = Event($"{prefix}-{id}", at, new { user_id = user, tokens_in = 1_000_000, tokens_out = 0, latency_ms = (int?)null });
            return extra is null ? e : e.With(extra);
        }

        var utc = TimeSpan.Zero;
        (await tenant.Ingest.PostEventsAsync([
            E("1", now.AddHours(-1), "a", new { latency_ms = 1000, ttft_ms = 100, feedback = "up" }),
            E("2", now.AddMinutes(-30), "b", new { latency_ms = 2000, ttft_ms = 300, status = "error", severity = "critical", error_type = "timeout" }),
            E("3", new DateTimeOffset(today.AddHours(2), utc), "a", new { latency_ms = 3000, status = "error", severity = "warning", feedback = "down" }),
            E("4", now.AddMinutes(-10), "c", new { model = "gpt-9" }),
            E("5", new DateTimeOffset(yesterday.AddHours(20), utc), "a"),
            E("6", new DateTimeOffset(yesterday.AddHours(20), utc), "d"),
            E("7", new DateTimeOffset(yesterday.AddHours(12).AddMinutes(30), utc), "f", new { status = "error", severity = "critical" }),
            E("8", now.AddDays(-2), "a"),
            E("9", now.AddDays(-2), "b"),
            E("10", now.AddDays(-2), "e"),
            E("11", now.AddDays(-3), "a"),
        ])).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    public static async Task SetMonthBudgetAsync(TestTenant tenant, decimal limitUsd) =>
        (await tenant.Admin.PutAsJsonAsync($"/v1/budgets/tenant/{tenant.Id}", new { period = "month", limit_usd = limitUsd })).StatusCode.ShouldBe(HttpStatusCode.OK);
}
