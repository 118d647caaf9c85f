using Ops.Api.Hosting;
using Ops.Api.Identity;
using Ops.Modules.Alerts;
using Ops.Modules.Audit;
using Ops.Modules.KillSwitch;
using Ops.Modules.Shared.Data;
using Ops.Modules.Shared.Modules;
using Ops.Modules.Usage;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddNpgsqlDataSource(OpsDatabase.ConnectionName);
builder.AddIdentityArea();
builder.AddAuditModule();
builder.AddUsageModule();
builder.AddKillSwitchModule();
builder.AddAlertsModule();
builder.AddOpsHost();

var app = builder.Build();

if (!await app.PrepareModulesAsync())
{
    return 1;
}

if (args.Contains("--migrate-only"))
{
    return 0;
}

app.UseOpsHost();
app.MapDefaultEndpoints();
app.UseModuleSchedules();

await app.RunAsync();
return 0;

/// <summary>Visible to the integration tests' WebApplicationFactory.</summary>
public partial class Program;
