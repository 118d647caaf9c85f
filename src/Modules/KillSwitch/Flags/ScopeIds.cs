using Ops.Modules.KillSwitch.Contracts;

namespace Ops.Modules.KillSwitch.Flags;

/// <summary>
/// A flag's scope id is the tenant id it is stored under; the platform scope is the reserved id <c>*</c>, which
/// no tenant id can take (tenant ids are lowercase letters, digits and hyphens).
/// </summary>
internal static class ScopeIds
{
    public const string Platform = "*";

    public static string IdOf(FlagScope scope, string tenantId) => scope == FlagScope.Platform ? Platform : tenantId;

    public static FlagScope ScopeOf(string scopeId) => scopeId == Platform ? FlagScope.Platform : FlagScope.Tenant;

    /// <summary>Only these built-in flags exist platform-wide; everything else is per tenant.</summary>
    public static bool AllowedOnPlatform(FlagKind kind) => kind is FlagKind.Killall or FlagKind.ReadOnly;
}
