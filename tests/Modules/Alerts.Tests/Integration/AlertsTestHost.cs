using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Ops.Testing;
using Shouldly;

namespace Ops.Modules.Alerts.Tests.Integration;

/// <summary>The Api with the evaluation job off (tests evaluate on demand) and short delivery timeouts and backoffs.</summary>
public class AlertsTestHost : OpsTestHost
{
    public const int DeliveryTimeoutMs = 1_000;
    public const int BackoffMs = 1_000;

    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Modules:Alerts:EvaluationEnabled"] = "false",
        ["Modules:Alerts:Delivery:TimeoutMilliseconds"] = DeliveryTimeoutMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Modules:Alerts:Delivery:BackoffMilliseconds"] = BackoffMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Modules:Alerts:Delivery:MaxAttempts"] = "4",
        ["Modules:Alerts:Delivery:PollMilliseconds"] = "200",
        ["Modules:Usage:RollupIntervalMs"] = "100",
    };
}

internal static class AlertsApi
{
    public static async Task<JsonNode> EvaluateAsync(this HttpClient admin) =>
        (await (await admin.PostAsync("/v1/alerts/evaluate", null)).ShouldHaveStatusAsync(HttpStatusCode.OK))!;

    public static async Task<JsonArray> AlertsAsync(this HttpClient client, string query = "") =>
        (await (await client.GetAsync("/v1/alerts" + query)).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray();

    public static async Task<(Guid Id, string Secret)> AddChannelAsync(this HttpClient admin, string name, Uri url, string kind = "webhook")
    {
        var body = (await (await admin.PostAsJsonAsync("/v1/alerts/channels", new { name, kind, url = url.ToString() })).ShouldHaveStatusAsync(HttpStatusCode.Created))!;
        return (Guid.Parse(body["id"]!.GetValue<string>()), body["secret"]!.GetValue<string>());
    }

    public static async Task SetRuleAsync(this HttpClient admin, string key, object body) =>
        await (await admin.PutAsJsonAsync($"/v1/alerts/rules/{key}", body)).ShouldHaveStatusAsync(HttpStatusCode.OK);

    /// <summary>Only the rule under test on, so other rules' alerts never interfere.</summary>
    public static async Task OnlyRuleAsync(this HttpClient admin, string key, object? settings = null)
    {
        var rules = (await (await admin.GetAsync("/v1/alerts/rules")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray();
        foreach (var rule in rules)
        {
            var name = rule!["key"]!.GetValue<string>();
            if (name != key)
            {
                await admin.SetRuleAsync(name, new { enabled = false });
            }
        }

        await admin.SetRuleAsync(key, settings ?? new { enabled = true });
    }

    public static async Task IngestAsync(this HttpClient ingest, params JsonObject[] events)
    {
        var response = await ingest.PostEventsAsync(events);
        ((int)response.StatusCode).ShouldBeInRange(200, 299, await response.Content.ReadAsStringAsync());
    }

    public static async Task EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, FakeTimeProvider? advance = null, TimeSpan? step = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (await condition())
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new ShouldAssertException($"Timed out after {timeout.TotalSeconds:0.#} s waiting until {what}.");
            }

            if (advance is not null)
            {
                advance.Advance(step ?? TimeSpan.FromMilliseconds(500));
            }

            await Task.Delay(50);
        }
    }
}

internal static class UsageWaits
{
    /// <summary>Waits until the Usage module's own signals (its real implementation) reflect the ingested events (the fold runs in the background).</summary>
    public static Task UntilSignalsAsync(this OpsTestHost host, string tenantId, Func<Ops.Modules.Usage.Contracts.UsageSignals, bool> condition, TimeSpan? window = null) =>
        AlertsApi.EventuallyAsync(
            async () => condition(await Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions
                .GetRequiredService<Ops.Modules.Usage.Contracts.IUsageSignals>(host.Factory.Services)
                .GetAsync(tenantId, window ?? TimeSpan.FromMinutes(15), CancellationToken.None)),
            TimeSpan.FromSeconds(15), "the usage rollups hold the events");
}
