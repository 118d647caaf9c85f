using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Ops.Modules.Shared.Modules;
using Ops.Modules.Shared.Scheduling;
using Ops.Modules.Usage.Budgets;
using Ops.Modules.Usage.Contracts;
using Ops.Modules.Usage.Ingestion;
using Ops.Modules.Usage.Jobs;
using Ops.Modules.Usage.Pricing;
using Ops.Modules.Usage.Reading;

namespace Ops.Modules.Usage;

/// <summary>Registers the Usage module (LLM-call events, pricing and rollups; schema <c>usage</c>).</summary>
public static class UsageModule
{
    public const string Schema = "usage";

    public static IHostApplicationBuilder AddUsageModule(this IHostApplicationBuilder builder)
    {
        builder.AddOpsModule(new ModuleDefinition("Usage", Schema, typeof(UsageModule).Assembly));
        builder.Services.AddOptions<UsageOptions>().BindConfiguration(UsageOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<PricingCatalog>();
        builder.Services.AddSingleton<UsageIngestor>();
        builder.Services.AddSingleton<RollupFolder>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RollupFolder>());
        builder.Services.AddSingleton<FeedbackRecorder>();
        builder.Services.AddSingleton<IUsageSpendReader, UsageSpendReader>();
        builder.Services.AddSingleton<BudgetStore>();
        builder.Services.AddSingleton<IUsageBudgets>(sp => sp.GetRequiredService<BudgetStore>());
        builder.Services.AddSingleton<UsageCards>();
        builder.Services.AddSingleton<MetricsReader>();
        builder.Services.AddSingleton<BreakdownReader>();
        builder.Services.AddSingleton<Features.GetDashboardStats.DashboardStatsReader>();
        builder.Services.AddSingleton<IUsageSignals>(sp => sp.GetRequiredService<UsageCards>());
        builder.Services.AddSingleton<RawEventRetention>();
        builder.Services.AddTransient<RawEventRetentionJob>();
        builder.Services.AddSingleton<IModuleSchedule, UsageSchedule>();
        return builder;
    }
}
