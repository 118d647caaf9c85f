using Npgsql;

namespace Ops.Modules.Shared.Notifications;

/// <summary>
/// Cross-instance change notifications over Postgres LISTEN/NOTIFY: the one way modules tell every Api
/// instance (their own included) that cached state changed.
/// </summary>
public interface IChangeFeed
{
    /// <summary>True while the listening connection is up; when false, caches fed by this may be stale.</summary>
    bool IsListening { get; }

    /// <summary>
    /// Publishes through <paramref name="connection"/>; inside a transaction the notification is delivered only
    /// if and when it commits, so listeners never see a change that was rolled back.
    /// </summary>
    Task PublishAsync(string topic, string payload, NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken);

    Task PublishAsync(string topic, string payload, CancellationToken cancellationToken);

    /// <summary>Handlers run on the listener's thread: keep them short and non-blocking.</summary>
    IDisposable Subscribe(string topic, Action<ChangeNotification> handler);
}
