namespace Ops.Testing;

public static class TestKeys
{
    /// <summary>The platform admin key every test database is created with (Ops:BootstrapAdminKey).</summary>
    public const string Bootstrap = "ops_testboot_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    /// <summary>The tenant the bootstrap key belongs to.</summary>
    public const string DefaultTenant = "default";
}
