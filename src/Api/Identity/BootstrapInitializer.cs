using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;
using Ops.Api.Identity.ApiKeys;
using Ops.Modules.Shared.Modules;
using Ops.Modules.Shared.Security;

namespace Ops.Api.Identity;

/// <summary>
/// First start: the default tenant and a platform admin key. With <c>Ops:BootstrapAdminKey</c> configured that
/// exact key is ensured at every start; without it, a key is generated only if no platform admin key exists at
/// all, and logged once (the AppHost normally provides one, so this is the standalone path).
/// </summary>
internal sealed partial class BootstrapInitializer(
    NpgsqlDataSource dataSource,
    IOptions<IdentityOptions> options,
    TimeProvider time,
    ILogger<BootstrapInitializer> logger) : IModuleInitializer
{
    private const string Actor = "system:bootstrap";

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "SELECT pg_advisory_xact_lock(hashtextextended('ops.identity.bootstrap', 0))", transaction: transaction, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO identity.tenants (tenant_id, name, created_at, created_by)
            VALUES (@tenant, 'Default', @now, @actor)
            ON CONFLICT (tenant_id) DO NOTHING
            """,
            new { tenant = settings.DefaultTenantId, now, actor = Actor },
            transaction,
            cancellationToken: cancellationToken));

        if (!string.IsNullOrWhiteSpace(settings.BootstrapAdminKey))
        {
            await EnsureConfiguredKeyAsync(connection, transaction, settings, now, cancellationToken);
        }
        else
        {
            var anyPlatformKey = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT EXISTS (SELECT 1 FROM identity.api_keys WHERE is_platform_admin AND revoked_at IS NULL)",
                transaction: transaction,
                cancellationToken: cancellationToken));
            if (!anyPlatformKey)
            {
                var (key, prefix) = ApiKeyFormat.Generate();
                await InsertPlatformKeyAsync(connection, transaction, settings.DefaultTenantId, key, prefix, now, cancellationToken);
                LogGenerated(logger, key);
            }
        }

        await transaction.CommitAsync(cancellationToken);
    }

    private async Task EnsureConfiguredKeyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IdentityOptions settings, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var key = settings.BootstrapAdminKey!.Trim();
        if (!ApiKeyFormat.TryParse(key, out var prefix))
        {
            throw new InvalidOperationException(
                "Ops:BootstrapAdminKey is not a valid key: expected 'ops_<prefix>_<secret>' with a 4-32 character lowercase prefix and a secret of 24+ letters or digits.");
        }

        var existing = await connection.QuerySingleOrDefaultAsync<ExistingKey>(new CommandDefinition(
            "SELECT secret_hash, revoked_at FROM identity.api_keys WHERE prefix = @prefix",
            new { prefix },
            transaction,
            cancellationToken: cancellationToken));
        if (existing is null)
        {
            await InsertPlatformKeyAsync(connection, transaction, settings.DefaultTenantId, key, prefix, now, cancellationToken);
            LogEnsured(logger, prefix);
        }
        else if (!ApiKeyFormat.Matches(key, existing.SecretHash))
        {
            throw new InvalidOperationException($"Ops:BootstrapAdminKey uses the prefix '{prefix}' of another existing key; choose another key.");
        }
        else if (existing.RevokedAt is not null)
        {
            // A revoked key stays revoked: re-enabling it silently at a restart would undo an operator's decision.
            LogRevoked(logger, prefix);
        }
    }

    private static Task InsertPlatformKeyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string tenantId, string key, string prefix, DateTimeOffset now, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO identity.api_keys (tenant_id, key_id, name, prefix, secret_hash, roles, is_platform_admin, created_at, created_by)
            VALUES (@tenantId, @keyId, 'bootstrap', @prefix, @hash, @roles, true, @now, @actor)
            """,
            new { tenantId, keyId = Guid.NewGuid(), prefix, hash = ApiKeyFormat.Hash(key), roles = new[] { Roles.Admin }, now, actor = Actor },
            transaction,
            cancellationToken: cancellationToken));

    private sealed class ExistingKey
    {
        public required byte[] SecretHash { get; init; }
        public DateTimeOffset? RevokedAt { get; init; }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "No platform admin key existed, so one was created. It is shown only this once: {Key}")]
    private static partial void LogGenerated(ILogger logger, string key);

    [LoggerMessage(Level = LogLevel.Information, Message = "Bootstrap admin key ops_{Prefix}_… created from configuration")]
    private static partial void LogEnsured(ILogger logger, string prefix);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The configured bootstrap admin key ops_{Prefix}_… was revoked by an operator and stays revoked")]
    private static partial void LogRevoked(ILogger logger, string prefix);
}
