using System.Threading.Channels;
using Dapper;
using FastEndpoints;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;
using Ops.Modules.Shared.Http;
using Ops.Modules.Shared.Notifications;
using Ops.Modules.Shared.Security;
using Ops.Modules.Usage.Features.GetDashboardStats;
using Ops.Modules.Usage.Ingestion;
using Ops.Modules.Usage.Reading;

namespace Ops.Modules.Usage.Features.StreamUsage;

/// <summary>The <c>summary</c> event: the last 24 hours' summary, as in <c>GET /v1/usage/metrics?period=24h</c>.</summary>
internal sealed record SummaryEvent(string Period, UsageSummary Summary);

internal sealed record HeartbeatEvent(DateTimeOffset At);

/// <summary>
/// Server-sent events with the tenant's live figures: on connect, and whenever a fold commits new rollup data for the
/// tenant on any instance (the fold publishes <see cref="RollupFolder.FoldedTopic"/> through the Postgres change feed), a
/// <c>stats</c> event (the <c>GET /v1/dashboard/stats</c> body) and a <c>summary</c> event; a <c>heartbeat</c> when idle.
/// Event ids are the tenant's fold watermark, which only grows: reconnecting with <c>Last-Event-ID</c> skips the first
/// push when nothing was folded since. Bursts of folds are coalesced into one push.
/// </summary>
internal sealed class StreamUsageEndpoint(
    IChangeFeed changeFeed,
    DashboardStatsReader stats,
    MetricsReader metrics,
    NpgsqlDataSource dataSource,
    TimeProvider time,
    IOptions<UsageOptions> options,
    IHostApplicationLifetime lifetime) : EndpointWithoutRequest
{
    public override void Configure()
    {
        Get("/v1/usage/stream");
        Roles(Ops.Modules.Shared.Security.Roles.Read);
        Description(b => b.ClearDefaultProduces(StatusCodes.Status204NoContent).Produces<string>(StatusCodes.Status200OK, "text/event-stream"));
        Summary(s =>
        {
            s.Summary = "Stream live card values and the 24-hour summary (server-sent events)";
            s.Description = "text/event-stream. Events: stats (the /v1/dashboard/stats body), summary ({period: \"24h\", summary}), heartbeat. "
                            + "Pushed within about 2 s of new events (the rollup fold, on any instance). Reconnect with Last-Event-ID.";
            s.Responses[200] = "An event stream (text/event-stream).";
        });
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(ct, lifetime.ApplicationStopping);
        var token = stopping.Token;
        var tenantId = HttpContext.GetCaller().TenantId;
        var changed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        // Subscribed before the first read: a fold committing meanwhile triggers another push, never a missed one.
        using var subscription = changeFeed.Subscribe(RollupFolder.FoldedTopic, n =>
        {
            if (n.IsResync || n.Payload == tenantId)
            {
                changed.Writer.TryWrite(true);
            }
        });
        try
        {
            await ServerSentEvents.StartAsync(HttpContext, token);
            var sent = ServerSentEvents.LastEventId(HttpContext) ?? -1;
            sent = await PushIfNewerAsync(tenantId, sent, token);
            var heartbeat = TimeSpan.FromSeconds(options.Value.StreamHeartbeatSeconds);
            while (!token.IsCancellationRequested)
            {
                if (await ServerSentEvents.WaitOrHeartbeatAsync(changed.Reader.ReadAsync, heartbeat, time, token) is null)
                {
                    await ServerSentEvents.WriteEventAsync(HttpContext.Response, "heartbeat", null, new HeartbeatEvent(time.GetUtcNow()), token);
                    continue;
                }

                sent = await PushIfNewerAsync(tenantId, sent, token);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // The client went away or the host is stopping.
        }
    }

    /// <summary>Pushes stats and summary when the tenant's rollups moved past <paramref name="sent"/>; returns the version sent.</summary>
    private async Task<long> PushIfNewerAsync(string tenantId, long sent, CancellationToken ct)
    {
        long version;
        await using (var connection = await dataSource.OpenConnectionAsync(ct))
        {
            version = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                "SELECT folded_below::text::bigint FROM usage.rollup_watermarks WHERE tenant_id = @tenantId", new { tenantId }, cancellationToken: ct)) ?? 0;
        }

        if (version <= sent && sent >= 0)
        {
            return sent;
        }

        var day = new UsageQueryRequest { Period = "24h" }.Resolve(tenantId, time.GetUtcNow(), out _);
        await ServerSentEvents.WriteEventAsync(HttpContext.Response, "stats", version, await stats.ReadAsync(tenantId, ct), ct);
        await ServerSentEvents.WriteEventAsync(HttpContext.Response, "summary", version, new SummaryEvent(day.Window.Name, await metrics.SummaryAsync(day, ct)), ct);
        return version;
    }
}
