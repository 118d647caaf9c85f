using Ops.Modules.Shared.Modules;

namespace Ops.Modules.KillSwitch.Flags;

/// <summary>Loads every flag before the host serves its first request, so no check is ever answered from an empty cache.</summary>
internal sealed class FlagCacheInitializer(FlagRefresher refresher) : IModuleInitializer
{
    public Task InitializeAsync(CancellationToken cancellationToken) => refresher.RefreshAllAsync(cancellationToken);
}
