using System.Collections.Concurrent;
using Dapper;
using Npgsql;
using Ops.Modules.Shared.Notifications;

namespace Ops.Modules.Alerts.Breaker;

/// <summary>A tenant's spend breaker: kill a user (or agent) whose spend over the last <c>window_minutes</c> exceeds <c>limit_usd</c>.</summary>
internal sealed record BreakerSettings(bool Enabled, string Subject, int WindowMinutes, decimal LimitUsd, int KillMinutes)
{
    public const string User = "user";
    public const string Agent = "agent";

    public static readonly BreakerSettings Off = new(false, User, 20, 100m, 60);

    public TimeSpan Window => TimeSpan.FromMinutes(WindowMinutes);
}

/// <summary>
/// The breaker settings of every tenant, cached per instance (the breaker reads them for every committed batch) and
/// invalidated on every instance through the change feed when a tenant changes them.
/// </summary>
internal sealed class BreakerSettingsStore : IDisposable
{
    public const string Topic = "alerts.breaker";

    private readonly NpgsqlDataSource _dataSource;
    private readonly IChangeFeed _changeFeed;
    private readonly ConcurrentDictionary<string, BreakerSettings> _cache = new(StringComparer.Ordinal);
    private readonly IDisposable _subscription;

    public BreakerSettingsStore(NpgsqlDataSource dataSource, IChangeFeed changeFeed)
    {
        _dataSource = dataSource;
        _changeFeed = changeFeed;
        _subscription = changeFeed.Subscribe(Topic, n =>
        {
            if (n.IsResync)
            {
                _cache.Clear();
            }
            else
            {
                _cache.TryRemove(n.Payload, out _);
            }
        });
    }

    public async ValueTask<BreakerSettings> GetAsync(string tenantId, CancellationToken cancellationToken)
    {
        if (_cache.TryGetValue(tenantId, out var cached))
        {
            return cached;
        }

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        var settings = await ReadAsync(tenantId, connection, null, cancellationToken);
        _cache[tenantId] = settings;
        return settings;
    }

    public static async Task<BreakerSettings> ReadAsync(string tenantId, NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken) =>
        await connection.QuerySingleOrDefaultAsync<BreakerSettings>(new CommandDefinition(
            $"""
            SELECT enabled AS "Enabled", subject AS "Subject", window_minutes AS "WindowMinutes", limit_usd AS "LimitUsd", kill_minutes AS "KillMinutes"
            FROM alerts.breakers WHERE tenant_id = @tenantId{(transaction is null ? string.Empty : " FOR UPDATE")}
            """,
            new { tenantId }, transaction, cancellationToken: cancellationToken)) ?? BreakerSettings.Off;

    /// <summary>Saves inside the caller's transaction; every instance drops its cached copy once it commits.</summary>
    public async Task SaveAsync(string tenantId, BreakerSettings settings, DateTimeOffset at, string actor, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO alerts.breakers (tenant_id, enabled, subject, window_minutes, limit_usd, kill_minutes, updated_at, updated_by)
            VALUES (@tenantId, @Enabled, @Subject, @WindowMinutes, @LimitUsd, @KillMinutes, @at, @actor)
            ON CONFLICT (tenant_id) DO UPDATE SET enabled = EXCLUDED.enabled, subject = EXCLUDED.subject, window_minutes = EXCLUDED.window_minutes,
                limit_usd = EXCLUDED.limit_usd, kill_minutes = EXCLUDED.kill_minutes, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by
            """,
            new { tenantId, settings.Enabled, settings.Subject, settings.WindowMinutes, settings.LimitUsd, settings.KillMinutes, at, actor },
            transaction, cancellationToken: cancellationToken));
        await _changeFeed.PublishAsync(Topic, tenantId, connection, transaction, cancellationToken);
    }

    /// <summary>This instance applies its own change at once (the notification follows for the others).</summary>
    public void Apply(string tenantId, BreakerSettings settings) => _cache[tenantId] = settings;

    public void Dispose() => _subscription.Dispose();
}
