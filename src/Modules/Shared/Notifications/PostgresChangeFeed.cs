using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Ops.Modules.Shared.Notifications;

internal sealed partial class PostgresChangeFeed(NpgsqlDataSource dataSource, ILogger<PostgresChangeFeed> logger)
    : BackgroundService, IChangeFeed
{
    internal const string Channel = "ops_changes";
    private const char Separator = '|';
    private static readonly TimeSpan PingInterval = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, ConcurrentDictionary<Guid, Action<ChangeNotification>>> _subscribers = new(StringComparer.Ordinal);
    private volatile bool _listening;

    public bool IsListening => _listening;

    public async Task PublishAsync(string topic, string payload, NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_notify(@channel, @message)", connection, transaction);
        command.Parameters.AddWithValue("channel", Channel);
        command.Parameters.AddWithValue("message", Format(topic, payload));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task PublishAsync(string topic, string payload, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await PublishAsync(topic, payload, connection, null, cancellationToken);
    }

    public IDisposable Subscribe(string topic, Action<ChangeNotification> handler)
    {
        var id = Guid.NewGuid();
        _subscribers.GetOrAdd(topic, _ => new()).TryAdd(id, handler);
        return new Subscription(() => _subscribers.GetValueOrDefault(topic)?.TryRemove(id, out _));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var backoff = TimeSpan.FromMilliseconds(250);
        var everConnected = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += OnNotification;
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                _listening = true;
                backoff = TimeSpan.FromMilliseconds(250);
                if (everConnected)
                {
                    // Anything published while we were away is lost: tell every cache to reload.
                    LogReconnected(logger);
                    DispatchResync();
                }

                everConnected = true;
                while (!stoppingToken.IsCancellationRequested)
                {
                    if (!await connection.WaitAsync(PingInterval, stoppingToken))
                    {
                        // A silent connection may be a dead one: a round trip proves it is alive.
                        await using var ping = new NpgsqlCommand("SELECT 1", connection);
                        await ping.ExecuteNonQueryAsync(stoppingToken);
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException or System.IO.IOException)
            {
                if (_listening || !everConnected)
                {
                    LogLost(logger, ex.Message);
                }

                _listening = false;
                try
                {
                    await Task.Delay(backoff, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }

        _listening = false;
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
    {
        var separator = e.Payload.IndexOf(Separator, StringComparison.Ordinal);
        var topic = separator < 0 ? e.Payload : e.Payload[..separator];
        var payload = separator < 0 ? string.Empty : e.Payload[(separator + 1)..];
        Dispatch(topic, new ChangeNotification(topic, payload, IsResync: false));
    }

    private void DispatchResync()
    {
        foreach (var topic in _subscribers.Keys)
        {
            Dispatch(topic, new ChangeNotification(topic, string.Empty, IsResync: true));
        }
    }

    private void Dispatch(string topic, ChangeNotification notification)
    {
        if (!_subscribers.TryGetValue(topic, out var handlers))
        {
            return;
        }

        foreach (var handler in handlers.Values)
        {
            try
            {
                handler(notification);
            }
#pragma warning disable CA1031 // One faulty subscriber must not starve the others or kill the listener.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogHandlerFailed(logger, topic, ex);
            }
        }
    }

    private static string Format(string topic, string payload)
    {
        if (topic.Contains(Separator, StringComparison.Ordinal))
        {
            throw new ArgumentException($"A topic may not contain '{Separator}'.", nameof(topic));
        }

        return topic + Separator + payload;
    }

    private sealed class Subscription(Action dispose) : IDisposable
    {
        public void Dispose() => dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Change feed: listening connection lost ({Reason}); caches fall back to their periodic refresh until it is back")]
    private static partial void LogLost(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Change feed: listening again; caches resynchronised")]
    private static partial void LogReconnected(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "Change feed: a subscriber of {Topic} failed")]
    private static partial void LogHandlerFailed(ILogger logger, string topic, Exception exception);
}

internal static class ChangeFeedRegistration
{
    public static void AddChangeFeed(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<PostgresChangeFeed>();
        builder.Services.AddSingleton<IChangeFeed>(sp => sp.GetRequiredService<PostgresChangeFeed>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<PostgresChangeFeed>());
    }
}
