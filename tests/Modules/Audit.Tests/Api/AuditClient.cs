using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Ops.Testing;
using Shouldly;

namespace Ops.Modules.Audit.Tests.Api;

/// <summary>Calls of the audit API the tests share.</summary>
internal static class AuditClient
{
    public const string SeedLine = """{"ts":"2026-05-18T14:23:11Z","user_id":"u_8a3f","request_id":"r_91c2","action":"chat.reply","tokens_in":412,"tokens_out":835,"cost_usd":0.0042,"latency_ms":2310,"model":"claude-opus-4-7","status":"ok"}""";

    public static Task<HttpResponseMessage> PostEventsAsync(this HttpClient client, object body) =>
        client.PostAsJsonAsync("/v1/audit/events", body);

    public static Task<HttpResponseMessage> PostRawAsync(this HttpClient client, string body, string contentType = "application/json") =>
        client.PostAsync("/v1/audit/events", new StringContent(body, Encoding.UTF8, contentType));

    public static async Task<JsonNode> IngestAsync(this HttpClient client, object body)
    {
        var result = (await (await client.PostEventsAsync(body)).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        result["errors"]!.AsArray().ShouldBeEmpty(result.ToJsonString());
        return result;
    }

    /// <summary>Every page of a listing, following next_cursor.</summary>
    public static async Task<List<JsonObject>> ListAllAsync(this HttpClient client, string query = "", int limit = 100)
    {
        var items = new List<JsonObject>();
        string? cursor = null;
        do
        {
            var url = $"/v1/audit/events?limit={limit}{(query.Length > 0 ? "&" + query : string.Empty)}{(cursor is null ? string.Empty : "&cursor=" + Uri.EscapeDataString(cursor))}";
            var page = (await (await client.GetAsync(url)).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
            items.AddRange(page["items"]!.AsArray().Select(i => i!.AsObject()));
            cursor = page["next_cursor"]?.GetValue<string>();
        }
        while (cursor is not null);

        return items;
    }

    public static async Task<List<JsonObject>> ExportNdjsonAsync(this HttpClient client, string query = "")
    {
        var response = await client.GetAsync($"/v1/audit/export?format=ndjson{(query.Length > 0 ? "&" + query : string.Empty)}");
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, text);
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonNode.Parse(line)!.AsObject()).ToList();
    }

    public static object Event(string requestId, DateTimeOffset ts, string action = "chat.reply", string user = "u_1", string status = "ok", object? extra = null) =>
        extra is null
            ? new { ts, user_id = user, request_id = requestId, action, status }
            : new { ts, user_id = user, request_id = requestId, action, status, extra };
}
