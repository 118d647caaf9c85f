using System.Security.Cryptography;

namespace Ops.AppHost;

/// <summary>
/// Generates the first platform admin key in the Api's key format (ops_&lt;prefix&gt;_&lt;secret&gt;). The Api is
/// not linked into the AppHost, so the format is restated here; the AppHost test proves the Api accepts it.
/// </summary>
internal static class BootstrapKey
{
    public static string Generate() =>
        "ops_" + RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyz234567", 10) + "_" +
        RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 32);
}
