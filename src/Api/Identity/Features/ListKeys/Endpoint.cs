using Dapper;
using FastEndpoints;
using Npgsql;
using Ops.Modules.Shared.Http;
using Ops.Modules.Shared.Security;

namespace Ops.Api.Identity.Features.ListKeys;

internal sealed class ListKeysRequest
{
    /// <summary>Only this tenant's keys. A tenant admin always sees its own tenant; a platform admin sees every tenant unless it filters.</summary>
    [QueryParam]
    public string? TenantId { get; init; }
}

internal sealed record ApiKeySummary(
    Guid Id,
    string TenantId,
    string Name,
    string Prefix,
    IReadOnlyList<string> Roles,
    bool PlatformAdmin,
    string Status,
    DateTimeOffset CreatedAt,
    string CreatedBy,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? RevokedAt,
    DateTimeOffset? LastUsedAt);

internal sealed record ListKeysResponse(IReadOnlyList<ApiKeySummary> Items);

/// <summary>Never returns secrets or hashes: a key is identified by its id and public prefix.</summary>
internal sealed class ListKeysEndpoint(NpgsqlDataSource dataSource, TimeProvider time) : Endpoint<ListKeysRequest, ListKeysResponse>
{
    public override void Configure()
    {
        Get("/v1/admin/keys");
        Roles(Ops.Modules.Shared.Security.Roles.Admin);
        Summary(s => s.Summary = "List API keys (without secrets)");
    }

    public override async Task HandleAsync(ListKeysRequest req, CancellationToken ct)
    {
        var caller = HttpContext.GetCaller();
        if (req.TenantId is not null && req.TenantId != caller.TenantId && !caller.IsPlatformAdmin)
        {
            await Send.ResultAsync(Problems.Forbidden("A tenant admin sees the keys of its own tenant only."));
            return;
        }

        var tenantFilter = caller.IsPlatformAdmin ? req.TenantId : caller.TenantId;
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var rows = await connection.QueryAsync<KeyRow>(new CommandDefinition(
            """
            SELECT key_id, tenant_id, name, prefix, roles, is_platform_admin, created_at, created_by, expires_at, revoked_at, last_used_at
            FROM identity.api_keys
            WHERE @tenant::text IS NULL OR tenant_id = @tenant
            ORDER BY tenant_id, created_at, key_id
            """,
            new { tenant = tenantFilter },
            cancellationToken: ct));
        var now = time.GetUtcNow();
        var items = rows.Select(r => new ApiKeySummary(
            r.KeyId, r.TenantId, r.Name, r.Prefix, r.Roles, r.IsPlatformAdmin,
            r.RevokedAt is not null ? "revoked" : r.ExpiresAt <= now ? "expired" : "active",
            r.CreatedAt, r.CreatedBy, r.ExpiresAt, r.RevokedAt, r.LastUsedAt)).ToList();
        await Send.OkAsync(new ListKeysResponse(items), ct);
    }

    private sealed class KeyRow
    {
        public required Guid KeyId { get; init; }
        public required string TenantId { get; init; }
        public required string Name { get; init; }
        public required string Prefix { get; init; }
        public required string[] Roles { get; init; }
        public bool IsPlatformAdmin { get; init; }
        public DateTimeOffset CreatedAt { get; init; }
        public required string CreatedBy { get; init; }
        public DateTimeOffset? ExpiresAt { get; init; }
        public DateTimeOffset? RevokedAt { get; init; }
        public DateTimeOffset? LastUsedAt { get; init; }
    }
}
