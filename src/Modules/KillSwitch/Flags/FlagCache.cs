using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Ops.Modules.KillSwitch.Contracts;
using Ops.Modules.Shared.Notifications;

namespace Ops.Modules.KillSwitch.Flags;

/// <summary>
/// Every flag of every tenant, in memory: what the check, the feature evaluation and the flag stream answer
/// from. Filled by <see cref="FlagRefresher"/>; replaced scope by scope, never emptied on failure, so when the
/// database is unreachable the last known flags keep applying.
/// </summary>
internal sealed class FlagCache(TimeProvider time, IChangeFeed changeFeed, IOptions<KillSwitchOptions> options)
{
    private readonly ConcurrentDictionary<string, ScopeFlags> _tenants = new(StringComparer.Ordinal);
    private readonly int _defaultRetryAfter = options.Value.DefaultRetryAfterSeconds;
    private readonly TimeSpan _refreshInterval = options.Value.RefreshInterval;
    private volatile ScopeFlags _platform = ScopeFlags.Empty(ScopeIds.Platform);
    private long _lastFullLoad;
    private volatile bool _loaded;
    private volatile bool _behind;

    /// <summary>
    /// True when this instance may have missed a change: it never loaded, a notified change could not be loaded,
    /// or the change feed is not listening and the last full reload is older than the refresh interval.
    /// </summary>
    public bool IsStale =>
        !_loaded || _behind || (!changeFeed.IsListening && time.GetElapsedTime(Interlocked.Read(ref _lastFullLoad)) > _refreshInterval);

    public KillSwitchVerdict Check(string tenantId, string? userId = null, string? agentId = null, string? model = null)
    {
        var platform = _platform;
        _tenants.TryGetValue(tenantId, out var tenant);
        var clock = new Clock(time);
        FlagState? hit = null;
        KillScope scope = default;
        if (clock.IsActive(platform.Killall))
        {
            (hit, scope) = (platform.Killall, KillScope.Platform);
        }
        else if (tenant is not null)
        {
            if (clock.IsActive(tenant.Killall))
            {
                (hit, scope) = (tenant.Killall, KillScope.Tenant);
            }
            else if (userId is not null && tenant.Users.TryGetValue(userId, out var user) && clock.IsActive(user))
            {
                (hit, scope) = (user, KillScope.User);
            }
            else if (agentId is not null && tenant.Agents.TryGetValue(agentId, out var agent) && clock.IsActive(agent))
            {
                (hit, scope) = (agent, KillScope.Agent);
            }
            else if (model is not null && tenant.Models.TryGetValue(model, out var killedModel) && clock.IsActive(killedModel))
            {
                (hit, scope) = (killedModel, KillScope.Model);
            }
        }

        var readOnly = clock.IsActive(platform.ReadOnly) ? platform.ReadOnly : tenant is not null && clock.IsActive(tenant.ReadOnly) ? tenant.ReadOnly : null;
        int? retryAfter = hit is null ? null
            : hit.ExpiresAt is { } expiresAt ? (int)Math.Clamp(Math.Ceiling((expiresAt - clock.Now).TotalSeconds), 1, int.MaxValue)
            : _defaultRetryAfter;
        return new KillSwitchVerdict(
            hit is not null,
            hit?.Reason,
            hit is null ? null : scope,
            hit?.Key,
            hit?.ExpiresAt,
            retryAfter,
            readOnly is not null,
            readOnly?.Reason,
            IsStale);
    }

    /// <summary>The tenant's and the platform's flags that have not expired.</summary>
    public IReadOnlyList<FlagState> GetFlags(string tenantId)
    {
        var now = time.GetUtcNow();
        var tenant = _tenants.GetValueOrDefault(tenantId);
        return [.. _platform.All.Where(f => !f.IsExpiredAt(now)), .. (tenant?.All ?? []).Where(f => !f.IsExpiredAt(now))];
    }

    /// <summary>A tenant's feature flag, unless absent or expired.</summary>
    public FeatureFlag? FindFeature(string tenantId, string feature) =>
        _tenants.TryGetValue(tenantId, out var tenant) && tenant.Features.TryGetValue(feature, out var flag) && !flag.State.IsExpiredAt(time.GetUtcNow())
            ? flag
            : null;

    public IEnumerable<FeatureFlag> AllFeatures()
    {
        var now = time.GetUtcNow();
        return _tenants.Values.SelectMany(t => t.Features.Values).Where(f => !f.State.IsExpiredAt(now));
    }

    public ScopeFlags GetScope(string scopeId) =>
        scopeId == ScopeIds.Platform ? _platform : _tenants.GetValueOrDefault(scopeId) ?? ScopeFlags.Empty(scopeId);

    public long VersionOf(string scopeId) => GetScope(scopeId).Version;

    public IReadOnlyCollection<string> KnownScopes => [ScopeIds.Platform, .. _tenants.Keys];

    /// <summary>Installs a scope's state unless this instance already holds a newer one. Returns the version it replaced.</summary>
    public long Apply(ScopeFlags flags)
    {
        if (flags.ScopeId == ScopeIds.Platform)
        {
            var current = _platform;
            if (flags.Version >= current.Version)
            {
                _platform = flags;
            }

            return current.Version;
        }

        var previous = 0L;
        _tenants.AddOrUpdate(
            flags.ScopeId,
            flags,
            (_, existing) =>
            {
                previous = existing.Version;
                return flags.Version >= existing.Version ? flags : existing;
            });
        return previous;
    }

    public bool IsLoaded => _loaded;

    public void MarkFullLoad()
    {
        Interlocked.Exchange(ref _lastFullLoad, time.GetTimestamp());
        _loaded = true;
    }

    /// <summary>Set while a change this instance was told about could not be loaded.</summary>
    public void MarkBehind(bool behind) => _behind = behind;

    /// <summary>Reads the clock at most once per check, and only when a flag with an expiry is involved.</summary>
    private struct Clock(TimeProvider time)
    {
        private DateTimeOffset? _now;

        public DateTimeOffset Now => _now ??= time.GetUtcNow();

        public bool IsActive(FlagState? flag) => flag is not null && (flag.ExpiresAt is not { } expiresAt || expiresAt > Now);
    }
}
