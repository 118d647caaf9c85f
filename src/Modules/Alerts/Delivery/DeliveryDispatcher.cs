using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using Dapper;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Ops.Modules.Alerts.Delivery;

/// <summary>
/// Delivers the outbox (<c>alerts.deliveries</c>), never inside an evaluation's transaction. Each instance claims due
/// rows with <c>FOR UPDATE SKIP LOCKED</c> and a lease, and sends each on its own task (at most
/// <see cref="AlertsDeliveryOptions.MaxConcurrent"/> at once) with its own timeout, so a hanging or failing channel
/// never delays another channel, another alert or the evaluation. A failed attempt (timeout, connection error, 5xx,
/// 408, 429) is retried after an exponential backoff until <see cref="AlertsDeliveryOptions.MaxAttempts"/>; other 4xx
/// answers fail at once. Delivery is at least once: receivers deduplicate on <c>X-Ops-Delivery</c>.
/// </summary>
internal sealed partial class DeliveryDispatcher(
    NpgsqlDataSource dataSource,
    IHttpClientFactory httpClients,
    IOptions<AlertsOptions> options,
    TimeProvider time,
    ILogger<DeliveryDispatcher> logger) : BackgroundService
{
    public const string HttpClientName = "ops-alerts-webhooks";

    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly ConcurrentDictionary<long, Task> _inFlight = new();

    private AlertsDeliveryOptions Settings => options.Value.Delivery;

    /// <summary>Asks the loop to look for due deliveries now (after a commit that queued some).</summary>
    public void Wake()
    {
        try
        {
            if (_wake.CurrentCount == 0)
            {
                _wake.Release();
            }
        }
        catch (SemaphoreFullException)
        {
            // Already signalled.
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Settings.Enabled)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await DispatchDueAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
#pragma warning disable CA1031 // The loop must survive a database outage; it retries on the next poll.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogLoopFailed(logger, ex);
            }

            try
            {
                await WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        await Task.WhenAll(_inFlight.Values);
    }

    private async Task WaitAsync(CancellationToken stoppingToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var wake = _wake.WaitAsync(cts.Token);
        var poll = Task.Delay(TimeSpan.FromMilliseconds(Settings.PollMilliseconds), time, cts.Token);
        await Task.WhenAny(wake, poll);
        await cts.CancelAsync();
        stoppingToken.ThrowIfCancellationRequested();
        // The loser's cancellation is expected; observe it so it never surfaces as unobserved.
        try
        {
            await Task.WhenAll(wake, poll);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Claims what is due and starts sending it; returns how many were started.</summary>
    public async Task<int> DispatchDueAsync(CancellationToken cancellationToken)
    {
        var free = Settings.MaxConcurrent - _inFlight.Count;
        if (free <= 0)
        {
            return 0;
        }

        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var claimed = (await connection.QueryAsync<ClaimedDelivery>(new CommandDefinition(
            """
            UPDATE alerts.deliveries d SET lease_until = @leaseUntil, attempts = d.attempts + 1
            FROM alerts.channels c
            WHERE (d.tenant_id, d.id) IN (
                    SELECT tenant_id, id FROM alerts.deliveries
                    WHERE status = 'pending' AND next_attempt_at <= @now AND (lease_until IS NULL OR lease_until <= @now)
                      AND NOT (id = ANY(@inFlight))
                    ORDER BY next_attempt_at, id LIMIT @free FOR UPDATE SKIP LOCKED)
              AND c.tenant_id = d.tenant_id AND c.id = d.channel_id
            RETURNING d.tenant_id, d.id, d.event, d.payload::text AS payload, d.attempts, c.kind, c.url, c.secret, (c.deleted_at IS NOT NULL OR NOT c.enabled) AS channel_gone
            """,
            new { now, leaseUntil = now + (2 * Settings.Timeout) + TimeSpan.FromSeconds(30), inFlight = _inFlight.Keys.ToArray(), free },
            cancellationToken: cancellationToken))).ToList();

        foreach (var delivery in claimed)
        {
            _inFlight[delivery.Id] = Task.Run(() => DeliverAsync(delivery, cancellationToken), CancellationToken.None);
        }

        return claimed.Count;
    }

    private async Task DeliverAsync(ClaimedDelivery delivery, CancellationToken stoppingToken)
    {
        try
        {
            var outcome = delivery.ChannelGone
                ? new Outcome(false, null, "the channel was deleted or disabled", Retry: false)
                : await SendAsync(delivery, stoppingToken);
            await RecordAsync(delivery, outcome, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: the lease runs out and another instance (or the next start) retries it.
        }
#pragma warning disable CA1031 // One delivery's failure must not stop the others.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogDeliveryFailed(logger, delivery.TenantId, delivery.Id, ex);
        }
        finally
        {
            _inFlight.TryRemove(delivery.Id, out _);
            Wake();
        }
    }

    private async Task<Outcome> SendAsync(ClaimedDelivery delivery, CancellationToken stoppingToken)
    {
        var body = Encoding.UTF8.GetBytes(delivery.Payload);
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, delivery.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.Add(WebhookSignature.TimestampHeader, timestamp.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(WebhookSignature.SignatureHeader, WebhookSignature.Sign(delivery.Secret, timestamp, body));
        request.Headers.Add(WebhookSignature.DeliveryHeader, delivery.Id.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(WebhookSignature.EventHeader, delivery.Event);

        // The attempt's deadline is wall-clock time: it bounds a network wait, which the injected clock does not drive.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(Settings.Timeout);
        try
        {
            using var response = await httpClients.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                return new Outcome(true, status, null, Retry: false);
            }

            var retry = status >= 500 || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests;
            return new Outcome(false, status, $"HTTP {status} {response.ReasonPhrase}", retry);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            return new Outcome(false, null, $"timed out after {Settings.TimeoutMilliseconds} ms", Retry: true);
        }
        catch (HttpRequestException ex)
        {
            return new Outcome(false, null, ex.Message, Retry: true);
        }
    }

    private async Task RecordAsync(ClaimedDelivery delivery, Outcome outcome, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var status = outcome.Delivered ? "delivered" : outcome.Retry && delivery.Attempts < Settings.MaxAttempts ? "pending" : "failed";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE alerts.deliveries SET status = @status, lease_until = NULL, last_status = @code, last_error = @error,
                next_attempt_at = @next, delivered_at = CASE WHEN @status = 'delivered' THEN @now ELSE NULL END
            WHERE tenant_id = @TenantId AND id = @Id
            """,
            new { status, code = outcome.StatusCode, error = outcome.Error, next = now + Settings.BackoffAfter(delivery.Attempts), now, delivery.TenantId, delivery.Id },
            cancellationToken: cancellationToken));
        if (!outcome.Delivered)
        {
            LogAttemptFailed(logger, delivery.TenantId, delivery.Id, delivery.Attempts, outcome.Error ?? string.Empty, status);
        }
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }

    private sealed record Outcome(bool Delivered, int? StatusCode, string? Error, bool Retry);

    private sealed class ClaimedDelivery
    {
        public string TenantId { get; init; } = string.Empty;
        public long Id { get; init; }
        public string Event { get; init; } = string.Empty;
        public string Payload { get; init; } = string.Empty;
        public int Attempts { get; init; }
        public string Kind { get; init; } = string.Empty;
        public string Url { get; init; } = string.Empty;
        public string Secret { get; init; } = string.Empty;
        public bool ChannelGone { get; init; }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The alert delivery loop failed; it retries on the next poll.")]
    private static partial void LogLoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Alert delivery {DeliveryId} of tenant {TenantId} could not be recorded.")]
    private static partial void LogDeliveryFailed(ILogger logger, string tenantId, long deliveryId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert delivery {DeliveryId} of tenant {TenantId}, attempt {Attempt}, failed: {Error} (now {Status}).")]
    private static partial void LogAttemptFailed(ILogger logger, string tenantId, long deliveryId, int attempt, string error, string status);
}
