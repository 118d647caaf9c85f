using Microsoft.Extensions.Hosting;
using Ops.Modules.Shared.Modules;

namespace Ops.Modules.Usage;

/// <summary>Registers the Usage module (LLM-call events, pricing and rollups; schema <c>usage</c>).</summary>
public static class UsageModule
{
    public const string Schema = "usage";

    public static IHostApplicationBuilder AddUsageModule(this IHostApplicationBuilder builder)
    {
        builder.AddOpsModule(new ModuleDefinition("Usage", Schema, typeof(UsageModule).Assembly));
        return builder;
    }
}
