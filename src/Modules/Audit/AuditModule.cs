using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Ops.Modules.Audit.Contracts;
using Ops.Modules.Audit.Redaction;
using Ops.Modules.Audit.Writing;
using Ops.Modules.Shared.Modules;

namespace Ops.Modules.Audit;

/// <summary>Registers the Audit module (audit events, redaction settings and retention; schema <c>audit</c>).</summary>
public static class AuditModule
{
    public const string Schema = "audit";

    public static IHostApplicationBuilder AddAuditModule(this IHostApplicationBuilder builder)
    {
        builder.AddOpsModule(new ModuleDefinition("Audit", Schema, typeof(AuditModule).Assembly));
        builder.Services.AddSingleton<IRedactor, Redactor>();
        builder.Services.AddSingleton<AuditWriter>();
        builder.Services.AddSingleton<IAuditWriter>(sp => sp.GetRequiredService<AuditWriter>());
        return builder;
    }
}
