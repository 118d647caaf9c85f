using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Ops.Modules.Audit.Contracts;
using Ops.Modules.Audit.Jobs;
using Ops.Modules.Audit.Redaction;
using Ops.Modules.Audit.Settings;
using Ops.Modules.Audit.Writing;
using Ops.Modules.Shared.Modules;
using Ops.Modules.Shared.Scheduling;

namespace Ops.Modules.Audit;

/// <summary>Registers the Audit module (audit events, redaction settings and retention; schema <c>audit</c>).</summary>
public static class AuditModule
{
    public const string Schema = "audit";

    public static IHostApplicationBuilder AddAuditModule(this IHostApplicationBuilder builder)
    {
        builder.AddOpsModule(new ModuleDefinition("Audit", Schema, typeof(AuditModule).Assembly));
        builder.Services.AddOptions<AuditOptions>()
            .BindConfiguration(AuditOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        builder.Services.AddSingleton<AuditSettingsStore>();
        builder.Services.AddSingleton<IRedactionPolicies>(sp => sp.GetRequiredService<AuditSettingsStore>());
        builder.Services.AddSingleton<Pseudonymizer>();
        builder.Services.AddSingleton<IModuleInitializer, PseudonymKeyInitializer>();
        builder.Services.AddSingleton<Redactor>();
        builder.Services.AddSingleton<IRedactor>(sp => sp.GetRequiredService<Redactor>());
        builder.Services.AddSingleton<AuditWriter>();
        builder.Services.AddSingleton<IAuditWriter>(sp => sp.GetRequiredService<AuditWriter>());

        builder.Services.AddSingleton<RetentionJob>();
        builder.Services.AddTransient<RetentionInvocable>();
        builder.Services.AddSingleton<IModuleSchedule, AuditSchedule>();
        builder.Services.AddSingleton<IModuleInitializer, AuditInitializer>();
        builder.Services.AddHostedService<AuditSettingsRefresher>();
        return builder;
    }
}
