namespace Ops.Modules.Shared.Modules;

/// <summary>
/// Work a module needs done once at start-up, after every migration ran and before the host serves requests
/// (e.g. ensuring the bootstrap key exists). Must be idempotent: it runs at every start of every instance.
/// </summary>
public interface IModuleInitializer
{
    Task InitializeAsync(CancellationToken cancellationToken);
}
