using System.Text.RegularExpressions;
using Dapper;
using FastEndpoints;
using FluentValidation;
using Npgsql;
using Ops.Modules.Audit.Contracts;
using Ops.Api.Identity.ApiKeys;
using Ops.Modules.Shared.Http;
using Ops.Modules.Shared.Security;

namespace Ops.Api.Identity.Features.CreateKey;

internal sealed class CreateKeyRequest
{
    /// <summary>The tenant the key belongs to; defaults to the caller's. Only a platform admin may name another tenant.</summary>
    public string? TenantId { get; init; }

    public string Name { get; init; } = string.Empty;

    /// <summary>Any of ingest, read, admin (admin implies read).</summary>
    public IReadOnlyList<string> Roles { get; init; } = [];

    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>Platform admin keys manage every tenant. Only a platform admin may create one.</summary>
    public bool PlatformAdmin { get; init; }
}

internal sealed record CreateKeyResponse(
    Guid Id,
    string TenantId,
    string Name,
    string Prefix,
    IReadOnlyList<string> Roles,
    bool PlatformAdmin,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt,
    string Key);

internal sealed partial class CreateKeyValidator : Validator<CreateKeyRequest>
{
    public CreateKeyValidator()
    {
        RuleFor(r => r.TenantId).Matches(TenantIdRegex()).When(r => r.TenantId is not null).WithMessage($"must be {TenantIds.Description}.");
        RuleFor(r => r.Name).NotEmpty().MaximumLength(200);
        RuleFor(r => r.Roles).NotEmpty().WithMessage("must name at least one role.");
        RuleForEach(r => r.Roles)
            .Must(role => Ops.Modules.Shared.Security.Roles.Grantable.Contains(role))
            .WithMessage($"must be one of: {string.Join(", ", Ops.Modules.Shared.Security.Roles.Grantable)}.");
        RuleFor(r => r.Roles).Must(roles => roles.Contains(Ops.Modules.Shared.Security.Roles.Admin))
            .When(r => r.PlatformAdmin).WithMessage("a platform admin key must include the admin role.");
    }

    [GeneratedRegex(TenantIds.Pattern)]
    private static partial Regex TenantIdRegex();
}

/// <summary>The only response that ever contains the key itself: it is stored as a hash and cannot be shown again.</summary>
internal sealed class CreateKeyEndpoint(NpgsqlDataSource dataSource, IAuditWriter audit, TimeProvider time) : Endpoint<CreateKeyRequest, CreateKeyResponse>
{
    public override void Configure()
    {
        Post("/v1/admin/keys");
        Roles(Ops.Modules.Shared.Security.Roles.Admin);
        Summary(s =>
        {
            s.Summary = "Create an API key (shown once)";
            s.Description = "Returns the key in `key`; only its hash is stored, so it cannot be shown again.";
            s.Responses[201] = "The key was created.";
        });
    }

    public override async Task HandleAsync(CreateKeyRequest req, CancellationToken ct)
    {
        var caller = HttpContext.GetCaller();
        var now = time.GetUtcNow();
        var tenantId = req.TenantId ?? caller.TenantId;
        if (tenantId != caller.TenantId && !caller.IsPlatformAdmin)
        {
            await Send.ResultAsync(Problems.Forbidden("A tenant admin manages the keys of its own tenant only."));
            return;
        }

        if (req.PlatformAdmin && !caller.IsPlatformAdmin)
        {
            await Send.ResultAsync(Problems.Forbidden("Only a platform admin may create a platform admin key."));
            return;
        }

        if (req.ExpiresAt is { } expiresAt && expiresAt <= now)
        {
            ThrowError(r => r.ExpiresAt, "must be in the future.");
        }

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var tenantExists = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM identity.tenants WHERE tenant_id = @tenantId)", new { tenantId }, cancellationToken: ct));
        if (!tenantExists)
        {
            ThrowError(r => r.TenantId, $"no tenant '{tenantId}' exists.");
        }

        await using var transaction = await connection.BeginTransactionAsync(ct);
        var (key, prefix) = ApiKeyFormat.Generate();
        var keyId = Guid.NewGuid();
        var roles = req.Roles.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO identity.api_keys (tenant_id, key_id, name, prefix, secret_hash, roles, is_platform_admin, created_at, created_by, expires_at)
            VALUES (@tenantId, @keyId, @name, @prefix, @hash, @roles, @platform, @now, @actor, @expiresAt)
            """,
            new
            {
                tenantId,
                keyId,
                name = req.Name,
                prefix,
                hash = ApiKeyFormat.Hash(key),
                roles,
                platform = req.PlatformAdmin,
                now,
                actor = caller.Actor,
                expiresAt = req.ExpiresAt,
            },
            transaction,
            cancellationToken: ct));
        var after = new { id = keyId, name = req.Name, prefix, roles, platform_admin = req.PlatformAdmin, expires_at = req.ExpiresAt };
        await audit.WriteAsync(OperatorAction.Create(HttpContext, "key.created", now, $"key:{keyId}", after: after, tenantId: tenantId), connection, transaction, ct);
        await transaction.CommitAsync(ct);

        await Send.ResponseAsync(
            new CreateKeyResponse(keyId, tenantId, req.Name, prefix, roles, req.PlatformAdmin, now, req.ExpiresAt, key),
            StatusCodes.Status201Created,
            ct);
    }
}
