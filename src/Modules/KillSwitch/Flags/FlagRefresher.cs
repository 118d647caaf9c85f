using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.FeatureManagement;
using Npgsql;
using Ops.Modules.KillSwitch.FeatureFlags;
using Ops.Modules.Shared.Notifications;

namespace Ops.Modules.KillSwitch.Flags;

/// <summary>
/// Keeps <see cref="FlagCache"/> equal to the database: reloads a scope when the change feed says it changed
/// (within milliseconds on every instance), everything after a listener reconnect, and everything every
/// refresh interval as a safety net. Loads run one at a time, so a slow load never overwrites a newer one.
/// A failed load keeps the last known flags and schedules a full reload with backoff.
/// </summary>
internal sealed partial class FlagRefresher : BackgroundService
{
    public const string Topic = "killswitch.flags";
    private const string Everything = "";
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    private readonly FlagStore _store;
    private readonly FlagCache _cache;
    private readonly FlagChangeHub _hub;
    private readonly IChangeFeed _changeFeed;
    private readonly TimeProvider _time;
    private readonly KillSwitchMetrics _metrics;
    private readonly ILogger<FlagRefresher> _logger;
    private readonly TimeSpan _interval;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Channel<string> _requests = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly IDisposable _subscription;
    private TimeSpan _backoff = TimeSpan.FromSeconds(1);
    private int _retryScheduled;

    public FlagRefresher(
        FlagStore store,
        FlagCache cache,
        FlagChangeHub hub,
        IChangeFeed changeFeed,
        TimeProvider time,
        KillSwitchMetrics metrics,
        IOptions<KillSwitchOptions> options,
        ILogger<FlagRefresher> logger)
    {
        _store = store;
        _cache = cache;
        _hub = hub;
        _changeFeed = changeFeed;
        _time = time;
        _metrics = metrics;
        _logger = logger;
        _interval = options.Value.RefreshInterval;
        // Runs on the listener's thread: only queue the work.
        _subscription = changeFeed.Subscribe(Topic, n => _requests.Writer.TryWrite(n.IsResync ? Everything : n.Payload));
    }

    /// <summary>Tells every instance (this one included) to reload <paramref name="scopeId"/> once the transaction commits.</summary>
    public Task PublishAsync(string scopeId, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken) =>
        _changeFeed.PublishAsync(Topic, scopeId, connection, transaction, cancellationToken);

    /// <summary>Loads every scope that changed since this instance last loaded it (all of them the first time). Throws when the database cannot be read.</summary>
    public async Task RefreshAllAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var known = _cache.IsLoaded
                ? _cache.KnownScopes.ToDictionary(id => id, _cache.VersionOf, StringComparer.Ordinal)
                : new Dictionary<string, long>(StringComparer.Ordinal);
            var loaded = await _store.LoadChangedAsync(known, cancellationToken);
            var flagsByScope = loaded.Flags.ToLookup(f => f.TenantId, StringComparer.Ordinal);
            var changesByScope = loaded.Changes.ToLookup(c => c.TenantId, StringComparer.Ordinal);
            var strings = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (scopeId, version) in loaded.Versions)
            {
                var scope = await BuildAsync(scopeId, version, flagsByScope[scopeId], strings);
                Publish(_cache.Apply(scope), changesByScope[scopeId]);
            }

            _cache.MarkFullLoad();
            _cache.MarkBehind(false);
            _backoff = TimeSpan.FromSeconds(1);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Loads one scope (after a write on this instance, or a notification). Throws when the database cannot be read.</summary>
    public async Task ReloadScopeAsync(string scopeId, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var loaded = await _store.LoadScopeAsync(scopeId, _cache.VersionOf(scopeId), cancellationToken);
            var scope = await BuildAsync(scopeId, loaded.Versions[scopeId], loaded.Flags, new Dictionary<string, string>(StringComparer.Ordinal));
            Publish(_cache.Apply(scope), loaded.Changes);
        }
        finally
        {
            _gate.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _ = PeriodicRefreshAsync(stoppingToken);
        _ = ReloadOnceListeningAsync(stoppingToken);
        try
        {
            await foreach (var request in _requests.Reader.ReadAllAsync(stoppingToken))
            {
                try
                {
                    if (request == Everything)
                    {
                        await RefreshAllAsync(stoppingToken);
                    }
                    else
                    {
                        await ReloadScopeAsync(request, stoppingToken);
                    }
                }
#pragma warning disable CA1031 // Whatever failed, the refresher must live on: the last known flags keep applying.
                catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
#pragma warning restore CA1031
                {
                    // A change we were told about is not in memory: say so (stale) until a full reload succeeds.
                    _cache.MarkBehind(true);
                    _metrics.ReloadFailed();
                    LogReloadFailed(_logger, request == Everything ? "every scope" : request, ex.Message);
                    ScheduleRetry(stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override void Dispose()
    {
        _subscription.Dispose();
        _gate.Dispose();
        base.Dispose();
    }

    private async Task PeriodicRefreshAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                _requests.Writer.TryWrite(Everything);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// The start-up load runs before the change feed listens; a change committed in between would wait for the
    /// periodic refresh. One full reload once the listener is up closes that gap.
    /// </summary>
    private async Task ReloadOnceListeningAsync(CancellationToken stoppingToken)
    {
        try
        {
            for (var i = 0; i < 300 && !_changeFeed.IsListening; i++)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), stoppingToken);
            }

            _requests.Writer.TryWrite(Everything);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void ScheduleRetry(CancellationToken stoppingToken)
    {
        if (Interlocked.Exchange(ref _retryScheduled, 1) == 1)
        {
            return;
        }

        var delay = _backoff;
        _backoff = TimeSpan.FromTicks(Math.Min(_backoff.Ticks * 2, MaxBackoff.Ticks));
        _ = Task.Run(
            async () =>
            {
                try
                {
                    // Infrastructure back-off, in real time like the change feed's reconnects.
                    await Task.Delay(delay, stoppingToken);
                    Interlocked.Exchange(ref _retryScheduled, 0);
                    _requests.Writer.TryWrite(Everything);
                }
                catch (OperationCanceledException)
                {
                }
            },
            stoppingToken);
    }

    private async Task<ScopeFlags> BuildAsync(string scopeId, long version, IEnumerable<FlagRow> rows, Dictionary<string, string>? strings)
    {
        var flags = rows.Select(r => r.ToState(strings)).ToList();
        var definitions = new Dictionary<string, FeatureDefinition>(StringComparer.Ordinal);
        foreach (var feature in flags.Where(f => f.Kind == Contracts.FlagKind.Feature))
        {
            var name = FeatureNames.Qualify(scopeId, feature.Key);
            try
            {
                definitions[feature.Key] = await FeatureDefinitions.BuildAsync(name, feature.Value);
            }
            catch (Exception ex) when (ex is FormatException or InvalidOperationException or ArgumentException or FeatureManagementException or System.Text.Json.JsonException)
            {
                // Definitions are validated on write; one that still fails to parse (edited by hand) is off, and
                // never stops the rest of the scope from loading.
                LogBadDefinition(_logger, name, ex.Message);
                definitions[feature.Key] = new FeatureDefinition { Name = name, Status = FeatureStatus.Disabled };
            }
        }

        return ScopeFlags.Create(scopeId, version, flags, definitions);
    }

    private void Publish(long previousVersion, IEnumerable<FlagHistoryRow> changes) =>
        _hub.Publish([.. changes.Where(c => c.ChangeId > previousVersion).OrderBy(c => c.ChangeId).Select(FlagChangeEvent.FromHistory)]);

    [LoggerMessage(Level = LogLevel.Error, Message = "Kill switch: the definition of feature {Feature} cannot be parsed ({Reason}); it is evaluated as off")]
    private static partial void LogBadDefinition(ILogger logger, string feature, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kill switch: could not load the flags of {Scope} ({Reason}); the last known flags keep applying and checks report stale until a reload succeeds")]
    private static partial void LogReloadFailed(ILogger logger, string scope, string reason);
}
