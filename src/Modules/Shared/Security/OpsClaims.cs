namespace Ops.Modules.Shared.Security;

public static class OpsClaims
{
    public const string TenantId = "ops:tenant_id";
    public const string KeyId = "ops:key_id";
    public const string KeyName = "ops:key_name";
}
