using System.Security.Cryptography;
using System.Text;

namespace Ops.Api.Identity.ApiKeys;

/// <summary>
/// Keys look like <c>ops_&lt;prefix&gt;_&lt;secret&gt;</c>. The prefix is public (it names the key in lists and
/// finds it at authentication); only a SHA-256 of the whole key is stored. A key carries 190+ bits of
/// randomness, so a fast hash is safe here (no password stretching needed) and keeps each request cheap.
/// </summary>
internal static class ApiKeyFormat
{
    public const string Marker = "ops_";
    private const int PrefixLength = 10;
    private const int SecretLength = 32;
    private const int MinimumSecretLength = 24;
    private const string PrefixAlphabet = "abcdefghijklmnopqrstuvwxyz234567";
    private const string SecretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    public static (string Key, string Prefix) Generate()
    {
        var prefix = RandomNumberGenerator.GetString(PrefixAlphabet, PrefixLength);
        var secret = RandomNumberGenerator.GetString(SecretAlphabet, SecretLength);
        return ($"{Marker}{prefix}_{secret}", prefix);
    }

    /// <summary>Accepts any <c>ops_&lt;prefix&gt;_&lt;secret&gt;</c> with a 4–32 character lowercase prefix and a 24+ character secret.</summary>
    public static bool TryParse(string candidate, out string prefix)
    {
        prefix = string.Empty;
        if (candidate.Length > 256 || !candidate.StartsWith(Marker, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = candidate.AsSpan(Marker.Length);
        var separator = rest.IndexOf('_');
        if (separator is < 4 or > 32)
        {
            return false;
        }

        var prefixSpan = rest[..separator];
        var secretSpan = rest[(separator + 1)..];
        foreach (var c in prefixSpan)
        {
            if (!char.IsAsciiLetterLower(c) && !char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        if (secretSpan.Length < MinimumSecretLength)
        {
            return false;
        }

        foreach (var c in secretSpan)
        {
            if (!char.IsAsciiLetterOrDigit(c))
            {
                return false;
            }
        }

        prefix = prefixSpan.ToString();
        return true;
    }

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    public static bool Matches(string key, byte[] storedHash) =>
        CryptographicOperations.FixedTimeEquals(Hash(key), storedHash);
}
