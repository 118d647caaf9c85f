namespace Ops.Modules.Shared.Data;

public static class OpsDatabase
{
    /// <summary>The Aspire resource name of the one database every module shares (<c>ConnectionStrings:opsdb</c>).</summary>
    public const string ConnectionName = "opsdb";
}
