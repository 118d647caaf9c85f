using FastEndpoints;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;
using Ops.Modules.KillSwitch.Flags;
using Ops.Modules.Shared.Http;
using Ops.Modules.Shared.Security;

namespace Ops.Modules.KillSwitch.Features.StreamFlags;

/// <summary>The <c>snapshot</c> event: every flag of the tenant and the platform that applies now.</summary>
internal sealed record SnapshotEvent(IReadOnlyList<AgentFlag> Flags, bool Stale, DateTimeOffset At);

/// <summary>The <c>flag</c> event: one change. <paramref name="Flag"/> is the flag after it, null when cleared or expired.</summary>
internal sealed record FlagEvent(long ChangeId, string Action, string Key, Contracts.FlagScope Scope, string Reason, DateTimeOffset At, AgentFlag? Flag);

internal sealed record HeartbeatEvent(DateTimeOffset At, bool Stale);

/// <summary>
/// Server-sent events that keep an agent's flag cache exact: a <c>snapshot</c> first (or, with
/// <c>Last-Event-ID</c>, the changes missed since), then a <c>flag</c> event per change of the tenant or the
/// platform as soon as this instance learns of it, and a <c>heartbeat</c> when idle. Event ids are change ids.
/// </summary>
internal sealed class StreamFlagsEndpoint(
    FlagCache cache,
    FlagChangeHub hub,
    FlagStore store,
    TimeProvider time,
    IOptions<KillSwitchOptions> options,
    IHostApplicationLifetime lifetime) : EndpointWithoutRequest
{
    public override void Configure()
    {
        Get("/v1/flags/stream");
        Roles(Ops.Modules.Shared.Security.Roles.Ingest, Ops.Modules.Shared.Security.Roles.Read);
        Description(b => b.ClearDefaultProduces(StatusCodes.Status204NoContent).Produces<string>(StatusCodes.Status200OK, "text/event-stream"));
        Summary(s =>
        {
            s.Summary = "Stream flag changes (server-sent events)";
            s.Description = "text/event-stream. Events: snapshot (all flags), flag (one change; id = change id), heartbeat. "
                + "Reconnect with Last-Event-ID to receive only what was missed (or a new snapshot when too far behind).";
            s.Responses[200] = "An event stream (text/event-stream).";
        });
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(ct, lifetime.ApplicationStopping);
        var token = stopping.Token;
        var tenantId = HttpContext.GetCaller().TenantId;
        // Subscribe before reading the snapshot: a change applied meanwhile arrives here too and is skipped by id.
        using var subscription = hub.Subscribe(tenantId);
        var seen = new Dictionary<string, long>(StringComparer.Ordinal);
        try
        {
            await ServerSentEvents.StartAsync(HttpContext, token);
            if (!await ResumeAsync(tenantId, seen, token))
            {
                await SnapshotAsync(tenantId, seen, token);
            }

            var heartbeat = TimeSpan.FromSeconds(options.Value.StreamHeartbeatSeconds);
            while (!token.IsCancellationRequested)
            {
                if (await ServerSentEvents.WaitOrHeartbeatAsync(subscription.Reader.WaitToReadAsync, heartbeat, time, token) is not { } more)
                {
                    await WriteEventAsync("heartbeat", null, new HeartbeatEvent(time.GetUtcNow(), cache.IsStale), token);
                    continue;
                }

                if (!more)
                {
                    // Cut off for falling behind (or the host is stopping): the client reconnects with Last-Event-ID.
                    return;
                }

                while (subscription.Reader.TryRead(out var change))
                {
                    if (change.ChangeId > seen.GetValueOrDefault(change.ScopeId))
                    {
                        await SendChangeAsync(change, seen, token);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // The client went away or the host is stopping.
        }
    }

    /// <summary>Replays the changes after Last-Event-ID; false when a snapshot is needed instead.</summary>
    private async Task<bool> ResumeAsync(string tenantId, Dictionary<string, long> seen, CancellationToken ct)
    {
        if (ServerSentEvents.LastEventId(HttpContext) is not { } lastId || lastId <= 0
            || lastId > Math.Max(cache.VersionOf(tenantId), cache.VersionOf(ScopeIds.Platform)))
        {
            return false;
        }

        IReadOnlyList<FlagHistoryRow> changes;
        try
        {
            changes = await store.ChangesSinceAsync(tenantId, lastId, options.Value.StreamReplayLimit + 1, ct);
        }
        catch (NpgsqlException)
        {
            return false;
        }

        if (changes.Count > options.Value.StreamReplayLimit)
        {
            return false;
        }

        seen[tenantId] = seen[ScopeIds.Platform] = lastId;
        foreach (var change in changes)
        {
            await SendChangeAsync(FlagChangeEvent.FromHistory(change), seen, ct);
        }

        return true;
    }

    private async Task SnapshotAsync(string tenantId, Dictionary<string, long> seen, CancellationToken ct)
    {
        seen[tenantId] = cache.VersionOf(tenantId);
        seen[ScopeIds.Platform] = cache.VersionOf(ScopeIds.Platform);
        var flags = cache.GetFlags(tenantId).Select(AgentFlag.From).ToList();
        await WriteEventAsync("snapshot", Math.Max(seen[tenantId], seen[ScopeIds.Platform]), new SnapshotEvent(flags, cache.IsStale, time.GetUtcNow()), ct);
    }

    private async Task SendChangeAsync(FlagChangeEvent change, Dictionary<string, long> seen, CancellationToken ct)
    {
        seen[change.ScopeId] = change.ChangeId;
        var flag = change.Flag is null ? null : AgentFlag.From(change.Flag);
        await WriteEventAsync("flag", change.ChangeId, new FlagEvent(change.ChangeId, change.Action, change.Key, ScopeIds.ScopeOf(change.ScopeId), change.Reason, change.At, flag), ct);
    }

    private Task WriteEventAsync<T>(string name, long? id, T data, CancellationToken ct) =>
        ServerSentEvents.WriteEventAsync(HttpContext.Response, name, id, data, ct);
}
