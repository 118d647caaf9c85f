using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using Ops.Modules.KillSwitch.Contracts;

namespace Ops.Modules.KillSwitch.Flags;

/// <summary>One change as the flag stream sends it: the history row, with the flag as it is after the change (null when removed).</summary>
internal sealed record FlagChangeEvent(long ChangeId, string ScopeId, string Key, string Action, FlagState? Flag, string Reason, DateTimeOffset At)
{
    public static FlagChangeEvent FromHistory(FlagHistoryRow row)
    {
        FlagState? after = null;
        if (row.After is not null && FlagKeys.TryParse(row.Key, out var key, out _))
        {
            var snapshot = JsonSerializer.Deserialize<FlagSnapshot>(row.After, Ops.Modules.Shared.Json.OpsJson.Options)!;
            after = new FlagState
            {
                Key = row.Key,
                Kind = key.Kind,
                Scope = ScopeIds.ScopeOf(row.TenantId),
                Value = snapshot.Value,
                Reason = snapshot.Reason,
                SetBy = snapshot.SetBy,
                SetAt = snapshot.SetAt,
                ExpiresAt = snapshot.ExpiresAt,
                ChangeId = row.ChangeId,
            };
        }

        return new FlagChangeEvent(row.ChangeId, row.TenantId, row.Key, row.Action, after, row.Reason, row.At);
    }
}

/// <summary>
/// In-process fan-out of flag changes to this instance's open flag streams. Fed by <see cref="FlagRefresher"/>
/// after it applied the change to the cache, so a stream that sends a snapshot and then the changes after the
/// snapshot's version misses nothing. A subscriber that cannot keep up is cut off (its stream ends and the
/// client resumes with <c>Last-Event-ID</c>), so one slow client never holds memory or other streams.
/// </summary>
internal sealed class FlagChangeHub
{
    private const int Capacity = 1024;
    private readonly ConcurrentDictionary<Guid, Subscription> _subscriptions = new();

    public int Count => _subscriptions.Count;

    public Subscription Subscribe(string tenantId)
    {
        var subscription = new Subscription(tenantId, this);
        _subscriptions[subscription.Id] = subscription;
        return subscription;
    }

    public void Publish(IReadOnlyList<FlagChangeEvent> changes)
    {
        if (changes.Count == 0)
        {
            return;
        }

        foreach (var subscription in _subscriptions.Values)
        {
            foreach (var change in changes)
            {
                if (change.ScopeId == subscription.TenantId || change.ScopeId == ScopeIds.Platform)
                {
                    subscription.Offer(change);
                }
            }
        }
    }

    internal sealed class Subscription(string tenantId, FlagChangeHub hub) : IDisposable
    {
        private readonly Channel<FlagChangeEvent> _channel = Channel.CreateBounded<FlagChangeEvent>(
            new BoundedChannelOptions(Capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

        public Guid Id { get; } = Guid.NewGuid();

        public string TenantId { get; } = tenantId;

        public ChannelReader<FlagChangeEvent> Reader => _channel.Reader;

        /// <summary>True when the subscriber fell more than the channel's capacity behind and was cut off.</summary>
        public bool Overflowed { get; private set; }

        internal void Offer(FlagChangeEvent change)
        {
            if (!_channel.Writer.TryWrite(change) && !Overflowed)
            {
                Overflowed = true;
                _channel.Writer.TryComplete();
            }
        }

        public void Dispose()
        {
            hub._subscriptions.TryRemove(Id, out _);
            _channel.Writer.TryComplete();
        }
    }
}
