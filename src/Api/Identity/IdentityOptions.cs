using System.ComponentModel.DataAnnotations;

namespace Ops.Api.Identity;

/// <summary>Bound to "Ops".</summary>
internal sealed class IdentityOptions
{
    public const string Section = "Ops";

    /// <summary>
    /// When set, this exact platform admin key is ensured to exist at every start (created if absent), so
    /// deployments and scripts can rely on it. The AppHost sets it on the first run and prints it once.
    /// </summary>
    public string? BootstrapAdminKey { get; set; }

    /// <summary>The tenant created on first start; the bootstrap key belongs to it.</summary>
    [Required, RegularExpression(TenantIds.Pattern)]
    public string DefaultTenantId { get; set; } = "default";
}

internal static class TenantIds
{
    public const string Pattern = "^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$";
    public const string Description = "1–63 characters: lowercase letters, digits and inner hyphens";
}
