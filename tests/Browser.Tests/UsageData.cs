using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Ops.Testing;
using Shouldly;

namespace Ops.Browser.Tests;

/// <summary>
/// The known data set the dashboard tests read, around <see cref="OpsTestHost.Epoch"/> (2026-05-18 12:00 UTC).
/// Every event is 1,000 input and 200 output tokens: opus costs $0.03 (15/75 per 1M), sonnet $0.006 (3/15), haiku
/// $0.0016 (0.80/4); gpt-4.1 (provider openai) has no price ($0, unpriced).
/// <list type="bullet">
/// <item>today: opus ×4 (u_a, u_b; support-bot, slack, 1,500 ms), sonnet ×6 (u_a, u_c, u_d; sales-bot, web, 900 ms; one a
/// critical error), gpt-4.1 ×2 (u_e; sales-bot, whatsapp); feedback: 4 up, 1 down</item>
/// <item>yesterday: sonnet ×2 (u_a, u_b; sales-bot, web)</item>
/// <item>10 days ago: sonnet ×10 (u_f; support-bot, web); 20 days ago: haiku ×5 (u_g; support-bot, slack)</item>
/// <item>40 days ago (outside the last 30 days, inside the last 3 months): opus ×10 (u_h; support-bot, slack)</item>
/// </list>
/// </summary>
internal static class UsageData
{
    public const int Events = 39;

    public static async Task LoadAsync(TestTenant tenant)
    {
        var now = OpsTestHost.Epoch;
        var events = new List<JsonObject>();
        var n = 0;
        void Add(int count, string model, DateTimeOffset at, string[] users, string agent, string channel, int latency, string? provider = null)
        {
            for (var i = 0; i < count; i++)
            {
                var e = new JsonObject
                {
                    ["request_id"] = $"r{++n:000}",
                    ["user_id"] = users[i % users.Length],
                    ["session_id"] = $"s_{users[i % users.Length]}_{at:MMdd}",
                    ["model"] = model,
                    ["agent_id"] = agent,
                    ["channel"] = channel,
                    ["tokens_in"] = 1_000,
                    ["tokens_out"] = 200,
                    ["latency_ms"] = latency,
                    ["ttft_ms"] = 300,
                    ["ts"] = at.AddMinutes(i).ToString("O", CultureInfo.InvariantCulture),
                };
                if (provider is not null)
                {
                    e["provider"] = provider;
                }

                events.Add(e);
            }
        }

        Add(4, "claude-opus-4-7", now.AddHours(-2), ["u_a", "u_b"], "support-bot", "slack", 1_500);
        Add(6, "claude-sonnet-4-7", now.AddHours(-1), ["u_a", "u_c", "u_d"], "sales-bot", "web", 900);
        Add(2, "gpt-4.1", now.AddMinutes(-30), ["u_e"], "sales-bot", "whatsapp", 900, provider: "openai");
        Add(2, "claude-sonnet-4-7", now.AddDays(-1), ["u_a", "u_b"], "sales-bot", "web", 900);
        Add(10, "claude-sonnet-4-7", now.AddDays(-10), ["u_f"], "support-bot", "web", 900);
        Add(5, "claude-haiku-4-7", now.AddDays(-20), ["u_g"], "support-bot", "slack", 900);
        Add(10, "claude-opus-4-7", now.AddDays(-40), ["u_h"], "support-bot", "slack", 1_500);
        events[5]["status"] = "error";
        events[5]["severity"] = "critical";
        events[5]["error_type"] = "timeout";
        events[0]["feedback"] = "up";
        events[1]["feedback"] = "up";
        events[2]["feedback"] = "up";
        events[4]["feedback"] = "up";
        events[6]["feedback"] = "down";
        events.Count.ShouldBe(Events);
        await PostAsync(tenant.Ingest, events);
        await WaitForRollupsAsync(tenant.Read, Events);
    }

    public static async Task PostAsync(HttpClient ingest, IEnumerable<JsonObject> events)
    {
        var body = new JsonArray(events.Select(e => (JsonNode)e.DeepClone()).ToArray()).ToJsonString();
        var response = await ingest.PostAsync("/v1/usage/events", new StringContent(body, Encoding.UTF8, "application/json"));
        var report = await response.ShouldHaveStatusAsync(HttpStatusCode.OK);
        report!["rejected"]!.GetValue<int>().ShouldBe(0, report.ToJsonString());
    }

    /// <summary>The background fold adds events to the rollups about a second after they are accepted.</summary>
    public static async Task WaitForRollupsAsync(HttpClient read, int requests)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        long seen = -1;
        while (DateTime.UtcNow < deadline)
        {
            var metrics = await read.GetFromJsonAsync<JsonObject>("/v1/usage/metrics?period=custom&from=2026-01-01T00:00:00Z&to=2026-05-19T00:00:00Z");
            seen = metrics!["summary"]!["total_requests"]!.GetValue<long>();
            if (seen == requests)
            {
                return;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"The rollups hold {seen} requests, not {requests}.");
    }
}
