using Microsoft.Extensions.Hosting;
using Ops.Modules.Shared.Modules;

namespace Ops.Modules.Audit;

/// <summary>Registers the Audit module (Audit events, redaction settings and retention; schema <c>audit</c>).</summary>
public static class AuditModule
{
    public const string Schema = "audit";

    public static IHostApplicationBuilder AddAuditModule(this IHostApplicationBuilder builder)
    {
        builder.AddOpsModule(new ModuleDefinition("Audit", Schema, typeof(AuditModule).Assembly));
        return builder;
    }
}
