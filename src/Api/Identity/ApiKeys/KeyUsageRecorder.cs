using System.Collections.Concurrent;
using System.Threading.Channels;
using Npgsql;

namespace Ops.Api.Identity.ApiKeys;

/// <summary>
/// Keeps <c>last_used_at</c> roughly current without a write per request: at most one update per key per
/// <see cref="Resolution"/>, written off the request path.
/// </summary>
internal sealed partial class KeyUsageRecorder(NpgsqlDataSource dataSource, TimeProvider time, ILogger<KeyUsageRecorder> logger) : BackgroundService
{
    internal static readonly TimeSpan Resolution = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<Guid, DateTimeOffset> _lastRecorded = new();
    private readonly Channel<(string TenantId, Guid KeyId, DateTimeOffset At)> _pending =
        Channel.CreateBounded<(string, Guid, DateTimeOffset)>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest });

    public void Record(string tenantId, Guid keyId)
    {
        var now = time.GetUtcNow();
        if (_lastRecorded.TryGetValue(keyId, out var last) && now - last < Resolution)
        {
            return;
        }

        _lastRecorded[keyId] = now;
        _pending.Writer.TryWrite((tenantId, keyId, now));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var (tenantId, keyId, at) in _pending.Reader.ReadAllAsync(stoppingToken))
            {
                try
                {
                    await using var command = dataSource.CreateCommand(
                        "UPDATE identity.api_keys SET last_used_at = GREATEST(COALESCE(last_used_at, @at), @at) WHERE tenant_id = @tenant AND key_id = @key");
                    command.Parameters.AddWithValue("at", at);
                    command.Parameters.AddWithValue("tenant", tenantId);
                    command.Parameters.AddWithValue("key", keyId);
                    await command.ExecuteNonQueryAsync(stoppingToken);
                }
                catch (NpgsqlException ex)
                {
                    // A lost "last used" timestamp is harmless; it is refreshed by the next use.
                    LogWriteFailed(logger, ex.Message);
                    _lastRecorded.TryRemove(keyId, out _);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not record API key use: {Reason}")]
    private static partial void LogWriteFailed(ILogger logger, string reason);
}
