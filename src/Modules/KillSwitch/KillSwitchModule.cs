using Microsoft.Extensions.Hosting;
using Ops.Modules.Shared.Modules;

namespace Ops.Modules.KillSwitch;

/// <summary>Registers the KillSwitch module (System flags, feature flags and their history; schema <c>killswitch</c>).</summary>
public static class KillSwitchModule
{
    public const string Schema = "killswitch";

    public static IHostApplicationBuilder AddKillSwitchModule(this IHostApplicationBuilder builder)
    {
        builder.AddOpsModule(new ModuleDefinition("KillSwitch", Schema, typeof(KillSwitchModule).Assembly));
        return builder;
    }
}
