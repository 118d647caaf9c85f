using System.Net.Http.Json;
using System.Text;

namespace Ops.Modules.Usage.Tests.Integration;

internal static class EventRequests
{
    public const string SeedLine =
        """{"ts":"2026-05-18T14:23:11Z","user_id":"u_8a3f","request_id":"r_91c2","action":"chat.reply","tokens_in":412,"tokens_out":835,"cost_usd":0.0042,"latency_ms":2310,"model":"claude-opus-4-7","status":"ok"}""";

    public static readonly DateTimeOffset SeedLineTime = new(2026, 5, 18, 14, 23, 11, TimeSpan.Zero);

    public static Task<HttpResponseMessage> PostEventsAsync(this HttpClient client, string json) =>
        client.PostAsync("/v1/usage/events", new StringContent(json, Encoding.UTF8, "application/json"));

    public static Task<HttpResponseMessage> PostNdjsonAsync(this HttpClient client, IEnumerable<string> lines) =>
        client.PostAsync("/v1/usage/events", new StringContent(string.Join('\n', lines) + "\n", Encoding.UTF8, "application/x-ndjson"));

    public static Task<HttpResponseMessage> PostFeedbackAsync(this HttpClient client, string requestId, string rating, string? comment = null) =>
        client.PostAsJsonAsync("/v1/usage/feedback", new { request_id = requestId, rating, comment });
}

internal static class ClockExtensions
{
    /// <summary>The fake clock only moves forward: moves it to <paramref name="at"/> unless it is already later.</summary>
    public static void AdvanceTo(this Microsoft.Extensions.Time.Testing.FakeTimeProvider time, DateTimeOffset at)
    {
        if (time.GetUtcNow() < at)
        {
            time.SetUtcNow(at);
        }
    }
}

internal static class FoldExtensions
{
    /// <summary>Folds every committed event into the rollups now (the background fold runs every second on its own).</summary>
    public static Task<long> FoldAsync(this Ops.Testing.OpsTestHost host) =>
        Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions
            .GetRequiredService<Ingestion.RollupFolder>(host.Factory.Services)
            .FoldAllCommittedAsync(CancellationToken.None);
}
