using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Ops.Testing;

/// <summary>Usage events as tests of every module post them to <c>POST /v1/usage/events</c>.</summary>
public static class UsageEvents
{
    /// <summary>A valid event (Sonnet, 1,000 in / 200 out, 1.2 s); override any field with <paramref name="fields"/>.</summary>
    public static JsonObject Event(string requestId, DateTimeOffset ts, object? fields = null)
    {
        var e = new JsonObject
        {
            ["request_id"] = requestId,
            ["user_id"] = "u_1",
            ["model"] = "claude-sonnet-4-7",
            ["tokens_in"] = 1_000,
            ["tokens_out"] = 200,
            ["ts"] = ts.ToString("O", CultureInfo.InvariantCulture),
            ["latency_ms"] = 1_200,
        };
        return fields is null ? e : e.With(fields);
    }

    /// <summary>Sets (or, with null values, clears) the fields of <paramref name="fields"/> on the event; returns it.</summary>
    public static JsonObject With(this JsonObject e, object fields)
    {
        foreach (var (name, value) in JsonSerializer.SerializeToNode(fields)!.AsObject())
        {
            e[name] = value?.DeepClone();
        }

        return e;
    }

    public static Task<HttpResponseMessage> PostEventsAsync(this HttpClient client, IEnumerable<JsonObject> events) =>
        client.PostAsync("/v1/usage/events", new StringContent(new JsonArray(events.Select(e => (JsonNode)e.DeepClone()).ToArray()).ToJsonString(), Encoding.UTF8, "application/json"));
}
