using System.Collections.Concurrent;
using Dapper;
using Npgsql;
using Ops.Modules.Shared.Notifications;

namespace Ops.Api.Identity.ApiKeys;

/// <summary>
/// Finds keys by prefix for authentication, from memory when it can. A revocation removes the entry here at
/// once and, through the change feed, on every other instance within milliseconds; entries also expire after
/// <see cref="TimeToLive"/> in case a notification was missed.
/// </summary>
internal sealed class ApiKeyStore : IDisposable
{
    public const string Topic = "identity.keys";
    internal static readonly TimeSpan TimeToLive = TimeSpan.FromSeconds(30);

    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _time;
    private readonly IChangeFeed _changeFeed;
    private readonly IDisposable _subscription;
    private readonly ConcurrentDictionary<string, (StoredApiKey Key, long LoadedAt)> _cache = new(StringComparer.Ordinal);

    public ApiKeyStore(NpgsqlDataSource dataSource, TimeProvider time, IChangeFeed changeFeed)
    {
        _dataSource = dataSource;
        _time = time;
        _changeFeed = changeFeed;
        _subscription = changeFeed.Subscribe(Topic, notification =>
        {
            if (notification.IsResync)
            {
                _cache.Clear();
            }
            else
            {
                _cache.TryRemove(notification.Payload, out _);
            }
        });
    }

    public async Task<StoredApiKey?> FindByPrefixAsync(string prefix, CancellationToken cancellationToken)
    {
        if (_cache.TryGetValue(prefix, out var cached) && _time.GetElapsedTime(cached.LoadedAt) < TimeToLive)
        {
            return cached.Key;
        }

        StoredApiKey? key;
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
            key = await connection.QuerySingleOrDefaultAsync<StoredApiKey>(new CommandDefinition(
                """
                SELECT tenant_id, key_id, name, prefix, secret_hash, roles, is_platform_admin, expires_at, revoked_at
                FROM identity.api_keys WHERE prefix = @prefix
                """,
                new { prefix },
                cancellationToken: cancellationToken));
        }
        catch (NpgsqlException) when (cached.Key is not null)
        {
            // The database is unreachable: keep authenticating keys this instance already knows, so agents can
            // still ask the kill switch (which keeps applying its last known flags) during an outage. A revocation
            // cannot be written meanwhile either. Re-armed for a TTL so only one request per key per TTL waits on
            // the database.
            _cache[prefix] = (cached.Key, _time.GetTimestamp());
            return cached.Key;
        }

        if (key is not null)
        {
            _cache[prefix] = (key, _time.GetTimestamp());
        }

        return key;
    }

    /// <summary>
    /// Tells every instance (this one included) to drop the key once <paramref name="transaction"/> commits.
    /// Call <see cref="Forget"/> after the commit too, so this instance does not wait for the round trip.
    /// </summary>
    public Task PublishInvalidationAsync(string prefix, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken) =>
        _changeFeed.PublishAsync(Topic, prefix, connection, transaction, cancellationToken);

    public void Forget(string prefix) => _cache.TryRemove(prefix, out _);

    public void Dispose() => _subscription.Dispose();
}
