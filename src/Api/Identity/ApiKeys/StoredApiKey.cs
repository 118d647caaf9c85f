namespace Ops.Api.Identity.ApiKeys;

/// <summary>A row of identity.api_keys as authentication needs it (no secret, only its hash).</summary>
internal sealed class StoredApiKey
{
    public required string TenantId { get; init; }
    public required Guid KeyId { get; init; }
    public required string Name { get; init; }
    public required string Prefix { get; init; }
    public required byte[] SecretHash { get; init; }
    public required string[] Roles { get; init; }
    public bool IsPlatformAdmin { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    public DateTimeOffset? RevokedAt { get; init; }
}
