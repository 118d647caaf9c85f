namespace Ops.Modules.KillSwitch.FeatureFlags;

/// <summary>
/// FeatureManagement is app-wide, flags are per tenant: the name FeatureManagement sees is
/// <c>{tenant_id}/{feature}</c>. Neither part can contain <c>/</c>, so the split is unambiguous, and the tenant
/// travels with every evaluation explicitly (no ambient tenant), which also works outside an HTTP request.
/// </summary>
internal static class FeatureNames
{
    public const char Separator = '/';

    public static string Qualify(string tenantId, string feature) => tenantId + Separator + feature;

    public static bool TrySplit(string qualified, out string tenantId, out string feature)
    {
        var separator = qualified.IndexOf(Separator, StringComparison.Ordinal);
        tenantId = separator > 0 ? qualified[..separator] : string.Empty;
        feature = separator > 0 ? qualified[(separator + 1)..] : string.Empty;
        return separator > 0 && feature.Length > 0;
    }
}
