using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Ops.Modules.Shared.Json;

namespace Ops.Modules.Shared.Http;

/// <summary>Writing a text/event-stream response: the headers that keep proxies from buffering it, and one event at a time.</summary>
public static class ServerSentEvents
{
    /// <summary>Sets the stream's headers, turns response buffering off, and tells clients to reconnect after 3 s.</summary>
    public static Task StartAsync(HttpContext context, CancellationToken cancellationToken)
    {
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache, no-store";
        context.Response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        return WriteAsync(context.Response, "retry: 3000\n\n", cancellationToken);
    }

    /// <summary>Writes one event (<c>id:</c> when given, <c>event:</c>, <c>data:</c> as snake_case JSON) and flushes it.</summary>
    public static Task WriteEventAsync<T>(HttpResponse response, string name, long? id, T data, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        if (id is { } eventId)
        {
            text.Append("id: ").Append(eventId.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        text.Append("event: ").Append(name).Append('\n')
            .Append("data: ").Append(JsonSerializer.Serialize(data, OpsJson.Options)).Append("\n\n");
        return WriteAsync(response, text.ToString(), cancellationToken);
    }

    /// <summary>
    /// Waits for the stream's next signal (<paramref name="wait"/>, e.g. a channel read) at most one
    /// <paramref name="heartbeat"/> interval of <paramref name="time"/>: its result, or null when the interval passed
    /// first and the caller should write a heartbeat. <paramref name="token"/> ending still throws.
    /// </summary>
    public static async Task<bool?> WaitOrHeartbeatAsync(Func<CancellationToken, ValueTask<bool>> wait, TimeSpan heartbeat, TimeProvider time, CancellationToken token)
    {
        ArgumentNullException.ThrowIfNull(wait);
        using var idle = new CancellationTokenSource(heartbeat, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(token, idle.Token);
        try
        {
            return await wait(linked.Token);
        }
        catch (OperationCanceledException) when (idle.IsCancellationRequested && !token.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>The client's <c>Last-Event-ID</c> header as a number, if it sent one.</summary>
    public static long? LastEventId(HttpContext context) =>
        long.TryParse(context.Request.Headers["Last-Event-ID"].FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : null;

    private static async Task WriteAsync(HttpResponse response, string text, CancellationToken cancellationToken)
    {
        await response.WriteAsync(text, cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }
}
