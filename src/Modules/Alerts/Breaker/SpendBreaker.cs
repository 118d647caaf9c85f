using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Ops.Modules.Alerts.Delivery;
using Ops.Modules.Alerts.Evaluation;
using Ops.Modules.Alerts.Rules;
using Ops.Modules.Alerts.State;
using Ops.Modules.KillSwitch.Contracts;
using Ops.Modules.Usage.Contracts;

namespace Ops.Modules.Alerts.Breaker;

/// <summary>
/// Told of every batch this instance commits (<see cref="IUsageBatchObserver"/>): hands it to the breaker's bounded
/// queue and returns at once, so ingestion never waits for the breaker.
/// </summary>
internal sealed class SpendBreakerObserver(SpendBreaker breaker) : IUsageBatchObserver
{
    public void OnBatchCommitted(UsageBatchCommitted batch) => breaker.Enqueue(batch);
}

/// <summary>
/// The spend breaker (ADR 0041): per tenant with it enabled, a sliding-window sum of each user's (or agent's) spend
/// in memory, fed by committed batches. Over the limit, it sets <c>kill:user:{id}</c> (or agent) until now +
/// kill_minutes through <see cref="IKillSwitch.EnsureKilledAsync"/> and fires the <c>spend_breaker</c> alert (audited,
/// notified). When this instance's own sums reach <see cref="AlertsBreakerOptions.VerifyFraction"/> of the limit, it
/// asks the database (<see cref="IUsageSpendReader.GetTopSpendAsync"/>, at most once per tenant per interval) so other
/// instances' events count too.
/// </summary>
internal sealed partial class SpendBreaker(
    BreakerSettingsStore settings,
    IUsageSpendReader spend,
    IKillSwitch killSwitch,
    AlertStateWriter writer,
    DeliveryDispatcher dispatcher,
    WatchedTenants tenants,
    IOptions<AlertsOptions> options,
    TimeProvider time,
    ILogger<SpendBreaker> logger) : BackgroundService
{
    public const string Actor = "system:alerts-spend-breaker";

    private readonly Channel<UsageBatchCommitted> _queue = Channel.CreateBounded<UsageBatchCommitted>(
        new BoundedChannelOptions(options.Value.Breaker.QueueCapacity) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    private readonly Dictionary<(string Tenant, string Subject, string Id), SlidingWindow> _windows = [];
    private readonly Dictionary<string, long> _lastVerified = new(StringComparer.Ordinal);
    private long _dropped;
    private long _processed;

    /// <summary>Batches dropped because the queue was full (each is logged).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Batches the loop has finished with (tests wait on it).</summary>
    public long Processed => Interlocked.Read(ref _processed);

    public void Enqueue(UsageBatchCommitted batch)
    {
        if (!_queue.Writer.TryWrite(batch))
        {
            Interlocked.Increment(ref _dropped);
            LogDropped(logger, batch.TenantId, batch.Events);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var batch in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                try
                {
                    await ProcessAsync(batch, stoppingToken);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
#pragma warning disable CA1031 // The breaker must keep watching the next batches whatever one of them hit.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    LogBatchFailed(logger, batch.TenantId, ex);
                }
                finally
                {
                    Interlocked.Increment(ref _processed);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task ProcessAsync(UsageBatchCommitted batch, CancellationToken cancellationToken)
    {
        await tenants.EnsureAsync(batch.TenantId, cancellationToken);
        var breaker = await settings.GetAsync(batch.TenantId, cancellationToken);
        if (!breaker.Enabled)
        {
            return;
        }

        var now = time.GetUtcNow();
        var window = breaker.Window;
        var verifyAt = breaker.LimitUsd * (decimal)options.Value.Breaker.VerifyFraction;
        List<(string Id, SlidingWindow Window)>? approaching = null;
        foreach (var delta in batch.Spend)
        {
            var id = breaker.Subject == BreakerSettings.Agent ? delta.AgentId : delta.UserId;
            if (id is null || delta.CostUsd <= 0 || !FlagKeys.IsValidSubject(id))
            {
                continue;
            }

            var key = (batch.TenantId, breaker.Subject, id);
            if (!_windows.TryGetValue(key, out var sliding))
            {
                sliding = new SlidingWindow();
                _windows[key] = sliding;
            }

            sliding.Add(delta.LastEventAt, delta.CostUsd, now, window);
            if (sliding.TrippedUntil > now)
            {
                continue;
            }

            if (sliding.SumUsd > breaker.LimitUsd)
            {
                await TripAsync(batch.TenantId, breaker, id, sliding.SumUsd, now, cancellationToken);
                sliding.TrippedUntil = now.AddMinutes(breaker.KillMinutes);
            }
            else if (sliding.SumUsd >= verifyAt)
            {
                (approaching ??= []).Add((id, sliding));
            }
        }

        if (approaching is not null && MayVerify(batch.TenantId))
        {
            await VerifyAsync(batch.TenantId, breaker, approaching, now, cancellationToken);
        }

        if (Interlocked.Read(ref _processed) % 1024 == 0)
        {
            Sweep(now);
        }
    }

    /// <summary>
    /// One database query per tenant per <see cref="AlertsBreakerOptions.VerifyIntervalMilliseconds"/>, however many of its
    /// subjects approach the limit: their spend across every instance (the top spenders of the window).
    /// </summary>
    private async Task VerifyAsync(string tenantId, BreakerSettings breaker, List<(string Id, SlidingWindow Window)> approaching, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var subject = breaker.Subject == BreakerSettings.Agent ? SpendSubject.Agent : SpendSubject.User;
        var top = await spend.GetTopSpendAsync(tenantId, subject, now - breaker.Window, Math.Clamp(approaching.Count * 2, 20, 1_000), cancellationToken);
        var spent = top.ToDictionary(s => s.Id, s => s.CostUsd, StringComparer.Ordinal);
        foreach (var (id, sliding) in approaching)
        {
            if (spent.TryGetValue(id, out var total) && total > breaker.LimitUsd && sliding.TrippedUntil <= now)
            {
                await TripAsync(tenantId, breaker, id, total, now, cancellationToken);
                sliding.TrippedUntil = now.AddMinutes(breaker.KillMinutes);
            }
        }
    }

    /// <summary>
    /// The verification throttle runs on the process's monotonic clock: it rations database load (like a connection
    /// timeout), it is not business time.
    /// </summary>
    private bool MayVerify(string tenantId)
    {
        var nowTicks = Stopwatch.GetTimestamp();
        if (_lastVerified.TryGetValue(tenantId, out var last)
            && Stopwatch.GetElapsedTime(last, nowTicks) < TimeSpan.FromMilliseconds(options.Value.Breaker.VerifyIntervalMilliseconds))
        {
            return false;
        }

        _lastVerified[tenantId] = nowTicks;
        return true;
    }

    private async Task TripAsync(string tenantId, BreakerSettings breaker, string id, decimal spentUsd, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var until = now.AddMinutes(breaker.KillMinutes);
        var flag = breaker.Subject == BreakerSettings.Agent ? FlagKeys.Agent(id) : FlagKeys.User(id);
        var reason = string.Create(CultureInfo.InvariantCulture,
            $"Spend breaker: {breaker.Subject} {id} spent ${spentUsd:0.####} in the last {breaker.WindowMinutes} min (limit ${breaker.LimitUsd:0.####}); blocked for {breaker.KillMinutes} min.");
        await killSwitch.EnsureKilledAsync(tenantId, flag, until, reason, Actor, cancellationToken);
        LogTripped(logger, tenantId, flag, spentUsd, breaker.LimitUsd);

        var finding = new Finding(RuleCatalog.SpendBreaker, breaker.Subject, id, Math.Round(spentUsd, 6), breaker.LimitUsd, reason);
        var changes = await writer.ApplyAsync(tenantId, [finding], _ => false, now, cancellationToken);
        if (changes.DeliveriesQueued > 0)
        {
            dispatcher.Wake();
        }
    }

    /// <summary>Forgets subjects whose window emptied (keeps memory proportional to recent spenders).</summary>
    private void Sweep(DateTimeOffset now)
    {
        foreach (var (key, sliding) in _windows.ToList())
        {
            sliding.Evict(now, sliding.Window);
            if (sliding.IsEmpty && sliding.TrippedUntil <= now)
            {
                _windows.Remove(key);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The spend breaker's queue is full: a batch of {Events} events of tenant {TenantId} was not checked.")]
    private static partial void LogDropped(ILogger logger, string tenantId, int events);

    [LoggerMessage(Level = LogLevel.Error, Message = "The spend breaker failed on a batch of tenant {TenantId}.")]
    private static partial void LogBatchFailed(ILogger logger, string tenantId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Spend breaker tripped for tenant {TenantId}: {Flag} (spent {SpentUsd} USD, limit {LimitUsd} USD).")]
    private static partial void LogTripped(ILogger logger, string tenantId, string flag, decimal spentUsd, decimal limitUsd);
}
