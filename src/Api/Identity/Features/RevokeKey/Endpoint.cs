using Dapper;
using FastEndpoints;
using Npgsql;
using Ops.Modules.Audit.Contracts;
using Ops.Api.Identity.ApiKeys;
using Ops.Modules.Shared.Http;
using Ops.Modules.Shared.Security;

namespace Ops.Api.Identity.Features.RevokeKey;

internal sealed class RevokeKeyRequest
{
    public Guid Id { get; init; }
}

/// <summary>
/// Revocation takes effect at once on this instance and, through the change feed, within milliseconds on the
/// others. Revoking an already revoked key is a no-op. The last active platform admin key cannot be revoked,
/// so the platform can never lock itself out.
/// </summary>
internal sealed class RevokeKeyEndpoint(NpgsqlDataSource dataSource, ApiKeyStore store, IAuditWriter audit, TimeProvider time)
    : Endpoint<RevokeKeyRequest>
{
    public override void Configure()
    {
        Delete("/v1/admin/keys/{id}");
        Roles(Ops.Modules.Shared.Security.Roles.Admin);
        Summary(s =>
        {
            s.Summary = "Revoke an API key";
            s.Responses[204] = "The key is revoked.";
            s.Responses[404] = "No such key.";
        });
    }

    public override async Task HandleAsync(RevokeKeyRequest req, CancellationToken ct)
    {
        var caller = HttpContext.GetCaller();
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var key = await connection.QuerySingleOrDefaultAsync<KeyRow>(new CommandDefinition(
            "SELECT tenant_id, name, prefix, is_platform_admin, revoked_at FROM identity.api_keys WHERE key_id = @id FOR UPDATE",
            new { id = req.Id }, transaction, cancellationToken: ct));
        if (key is null)
        {
            await Send.ResultAsync(Problems.NotFound($"No API key with id '{req.Id}'."));
            return;
        }

        if (key.TenantId != caller.TenantId && !caller.IsPlatformAdmin)
        {
            await Send.ResultAsync(Problems.Forbidden("A tenant admin manages the keys of its own tenant only."));
            return;
        }

        if (key.RevokedAt is null)
        {
            if (key.IsPlatformAdmin)
            {
                var otherPlatformKeys = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                    "SELECT count(*) FROM identity.api_keys WHERE is_platform_admin AND revoked_at IS NULL AND key_id <> @id AND (expires_at IS NULL OR expires_at > @now)",
                    new { id = req.Id, now = time.GetUtcNow() }, transaction, cancellationToken: ct));
                if (otherPlatformKeys == 0)
                {
                    await Send.ResultAsync(Problems.Conflict("This is the last active platform admin key; create another one before revoking it."));
                    return;
                }
            }

            var now = time.GetUtcNow();
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE identity.api_keys SET revoked_at = @now, revoked_by = @actor WHERE key_id = @id",
                new { id = req.Id, now, actor = caller.Actor }, transaction, cancellationToken: ct));
            await audit.WriteAsync(
                OperatorAction.Create(HttpContext, "key.revoked", now, $"key:{req.Id}",
                    before: new { name = key.Name, prefix = key.Prefix, status = "active" },
                    after: new { name = key.Name, prefix = key.Prefix, status = "revoked" },
                    tenantId: key.TenantId),
                connection, transaction, ct);
            await store.PublishInvalidationAsync(key.Prefix, connection, transaction, ct);
        }

        await transaction.CommitAsync(ct);
        store.Forget(key.Prefix);
        await Send.NoContentAsync(ct);
    }

    private sealed class KeyRow
    {
        public required string TenantId { get; init; }
        public required string Name { get; init; }
        public required string Prefix { get; init; }
        public bool IsPlatformAdmin { get; init; }
        public DateTimeOffset? RevokedAt { get; init; }
    }
}
