using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Ops.Modules.Alerts.Tests.Integration;

/// <summary>What a receiver got.</summary>
public sealed record ReceivedRequest(string Path, IReadOnlyDictionary<string, string> Headers, byte[] Body, DateTime ReceivedAtUtc)
{
    public JsonNode Json => JsonNode.Parse(Body)!;

    public string Header(string name) => Headers.GetValueOrDefault(name.ToLowerInvariant()) ?? string.Empty;
}

/// <summary>
/// A real HTTP listener on 127.0.0.1 (a free port): records every request and answers per path — 200 by default,
/// a scripted sequence of status codes, or never (a hanging endpoint).
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<ReceivedRequest> _received = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<int>> _scripts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _hanging = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public WebhookReceiver()
    {
        var port = FreePort();
        BaseAddress = new Uri($"http://127.0.0.1:{port}/");
        _listener.Prefixes.Add(BaseAddress.ToString());
        _listener.Start();
        _loop = Task.Run(AcceptAsync);
    }

    public Uri BaseAddress { get; }

    public Uri Url(string path) => new(BaseAddress, path.TrimStart('/'));

    public IReadOnlyList<ReceivedRequest> Received(string path) => _received.Where(r => r.Path == "/" + path.TrimStart('/')).ToList();

    /// <summary>Answers the next requests to <paramref name="path"/> with these status codes, then 200.</summary>
    public void Script(string path, params int[] statuses) => _scripts["/" + path.TrimStart('/')] = new ConcurrentQueue<int>(statuses);

    /// <summary>Requests to <paramref name="path"/> never get an answer.</summary>
    public void Hang(string path) => _hanging["/" + path.TrimStart('/')] = true;

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (HttpListenerException)
            {
                return;
            }

            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        using var body = new MemoryStream();
        await context.Request.InputStream.CopyToAsync(body);
        var path = context.Request.Url!.AbsolutePath;
        var headers = context.Request.Headers.AllKeys.Where(k => k is not null).ToDictionary(k => k!.ToLowerInvariant(), k => context.Request.Headers[k]!);
        _received.Enqueue(new ReceivedRequest(path, headers, body.ToArray(), DateTime.UtcNow));
        if (_hanging.ContainsKey(path))
        {
            try
            {
                await Task.Delay(Timeout.Infinite, _stop.Token);
            }
            catch (OperationCanceledException)
            {
            }

            context.Response.Abort();
            return;
        }

        var status = _scripts.TryGetValue(path, out var script) && script.TryDequeue(out var scripted) ? scripted : 200;
        context.Response.StatusCode = status;
        var answer = Encoding.UTF8.GetBytes(status < 300 ? "ok" : "nope");
        await context.Response.OutputStream.WriteAsync(answer);
        context.Response.Close();
    }

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        var port = ((IPEndPoint)socket.LocalEndpoint).Port;
        socket.Stop();
        return port;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        _listener.Close();
        try
        {
            await _loop;
        }
        catch (ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }
}
