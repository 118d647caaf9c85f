namespace Ops.Modules.Shared.Notifications;

/// <summary>
/// One change published by any Api instance. <see cref="IsResync"/> marks the synthetic notification sent to
/// every subscriber after the listener reconnects: changes may have been missed, so caches must reload.
/// </summary>
public sealed record ChangeNotification(string Topic, string Payload, bool IsResync);
