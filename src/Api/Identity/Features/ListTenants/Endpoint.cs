using Dapper;
using FastEndpoints;
using Npgsql;
using Ops.Api.Identity.Features.CreateTenant;
using Ops.Modules.Shared.Security;

namespace Ops.Api.Identity.Features.ListTenants;

internal sealed record ListTenantsResponse(IReadOnlyList<TenantResponse> Items);

/// <summary>A platform admin sees every tenant; a tenant admin sees its own.</summary>
internal sealed class ListTenantsEndpoint(NpgsqlDataSource dataSource) : EndpointWithoutRequest<ListTenantsResponse>
{
    public override void Configure()
    {
        Get("/v1/admin/tenants");
        Roles(Ops.Modules.Shared.Security.Roles.Admin);
        Summary(s => s.Summary = "List tenants");
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        var caller = HttpContext.GetCaller();
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var tenants = await connection.QueryAsync<TenantRow>(new CommandDefinition(
            """
            SELECT tenant_id, name, created_at FROM identity.tenants
            WHERE @all OR tenant_id = @tenant
            ORDER BY tenant_id
            """,
            new { all = caller.IsPlatformAdmin, tenant = caller.TenantId },
            cancellationToken: ct));
        await Send.OkAsync(new ListTenantsResponse(tenants.Select(t => new TenantResponse(t.TenantId, t.Name, t.CreatedAt)).ToList()), ct);
    }

    private sealed class TenantRow
    {
        public required string TenantId { get; init; }
        public required string Name { get; init; }
        public DateTimeOffset CreatedAt { get; init; }
    }
}
