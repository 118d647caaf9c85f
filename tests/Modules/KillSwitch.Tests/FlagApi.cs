using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Ops.Testing;
using Shouldly;

namespace Ops.Modules.KillSwitch.Tests;

/// <summary>The module's HTTP API as the tests call it.</summary>
internal static class FlagApi
{
    public static Task<HttpResponseMessage> PutFlagAsync(this HttpClient client, string key, object? value, string? reason = "test", DateTimeOffset? expiresAt = null, string? scope = null) =>
        client.PutAsJsonAsync(FlagUrl(key, scope), new { value, reason, expires_at = expiresAt });

    /// <summary>Sets a flag and asserts it was accepted.</summary>
    public static async Task<JsonNode> SetFlagAsync(this HttpClient client, string key, object? value, string reason = "test", DateTimeOffset? expiresAt = null, string? scope = null)
    {
        var response = await client.PutFlagAsync(key, value, reason, expiresAt, scope);
        response.StatusCode.ShouldBeOneOf([HttpStatusCode.OK, HttpStatusCode.Created], await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonNode>())!;
    }

    public static async Task ClearFlagAsync(this HttpClient client, string key, string reason = "test", string? scope = null)
    {
        var response = await client.DeleteAsync(FlagUrl(key, scope, $"reason={Uri.EscapeDataString(reason)}"));
        await response.ShouldHaveStatusAsync(HttpStatusCode.NoContent);
    }

    public static async Task<JsonNode> CheckAsync(this HttpClient client, string? userId = null, string? agentId = null, string? model = null)
    {
        var query = string.Join('&', new[] { ("user_id", userId), ("agent_id", agentId), ("model", model) }
            .Where(p => p.Item2 is not null)
            .Select(p => $"{p.Item1}={Uri.EscapeDataString(p.Item2!)}"));
        return (await (await client.GetAsync($"/v1/killswitch/check?{query}")).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
    }

    public static async Task<JsonNode> EvaluateAsync(this HttpClient client, string feature, string? userId = null, params string[] groups)
    {
        var query = $"feature={Uri.EscapeDataString(feature)}"
            + (userId is null ? string.Empty : $"&user_id={Uri.EscapeDataString(userId)}")
            + string.Concat(groups.Select(g => $"&groups={Uri.EscapeDataString(g)}"));
        return (await (await client.GetAsync($"/v1/flags/evaluate?{query}")).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
    }

    public static bool Killed(this JsonNode check) => check["killed"]!.GetValue<bool>();

    public static string FlagUrl(string key, string? scope = null, string? query = null)
    {
        var parameters = string.Join('&', new[] { scope is null ? null : $"scope={scope}", query }.Where(p => p is not null));
        return $"/v1/admin/flags/{key}" + (parameters.Length == 0 ? string.Empty : "?" + parameters);
    }

    /// <summary>Polls until <paramref name="condition"/> holds (real time), failing after <paramref name="timeout"/>.</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout, string because)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new ShouldAssertException($"Timed out after {timeout.TotalSeconds:0.#} s waiting until {because}.");
            }

            await Task.Delay(20);
        }
    }
}
