using FastEndpoints;
using Npgsql;
using Ops.Modules.Shared.Security;
using Ops.Modules.Usage.Dashboard;
using Ops.Modules.Usage.Reading;

namespace Ops.Modules.Usage.Features.GetDashboardStats;

/// <summary>The four cards (and TTFT and feedback) with their comparisons and statuses.</summary>
internal sealed class GetDashboardStatsEndpoint(DashboardStatsReader reader) : EndpointWithoutRequest<DashboardStatsResponse>
{
    public override void Configure()
    {
        Get("/v1/dashboard/stats");
        Roles(Ops.Modules.Shared.Security.Roles.Read);
        Summary(s =>
        {
            s.Summary = "The dashboard's cards: DAU, cost today, errors 24 h, p95 latency, TTFT, feedback";
            s.Description = "From the rollups. Each card has a status (ok, warning, critical) by the tenant's thresholds (GET /v1/settings/dashboard); "
                            + "delta_pct is null when yesterday is 0; no data gives ok.";
        });
    }

    public override async Task HandleAsync(CancellationToken ct) =>
        await Send.OkAsync(await reader.ReadAsync(HttpContext.GetCaller().TenantId, ct), ct);
}

/// <summary>The stats of a tenant now: <see cref="UsageCards"/> (shared with IUsageSignals) and the tenant's settings.</summary>
internal sealed class DashboardStatsReader(UsageCards cards, NpgsqlDataSource dataSource)
{
    public async Task<DashboardStatsResponse> ReadAsync(string tenantId, CancellationToken cancellationToken)
    {
        var figures = cards.ReadAsync(tenantId, cancellationToken);
        TenantDashboardSettings settings;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            settings = await DashboardSettingsStore.ReadAsync(connection, tenantId, cancellationToken);
        }

        return DashboardStats.Build(await figures, settings);
    }
}
