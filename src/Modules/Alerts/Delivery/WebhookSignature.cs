using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Ops.Modules.Alerts.Delivery;

/// <summary>
/// How a receiver checks that a delivery comes from Ops and is fresh: <c>X-Ops-Signature: sha256=&lt;hex&gt;</c> is
/// HMAC-SHA256, keyed with the channel's secret, over <c>{X-Ops-Timestamp}.{body}</c> (the timestamp in Unix seconds
/// and the exact body bytes). Signing the timestamp with the body stops an old delivery being replayed with a new
/// timestamp; receivers reject timestamps older than a few minutes.
/// </summary>
internal static class WebhookSignature
{
    public const string SignatureHeader = "X-Ops-Signature";
    public const string TimestampHeader = "X-Ops-Timestamp";
    public const string DeliveryHeader = "X-Ops-Delivery";
    public const string EventHeader = "X-Ops-Event";
    public const string Prefix = "sha256=";

    public static string Sign(string secret, long timestamp, ReadOnlySpan<byte> body)
    {
        var stamp = Encoding.ASCII.GetBytes(timestamp.ToString(CultureInfo.InvariantCulture) + ".");
        var message = new byte[stamp.Length + body.Length];
        stamp.CopyTo(message, 0);
        body.CopyTo(message.AsSpan(stamp.Length));
        return Prefix + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), message));
    }

    /// <summary>What a receiver does (kept here so the documentation and the tests agree with the sender).</summary>
    public static bool Verify(string secret, string? timestampHeader, string? signatureHeader, ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan tolerance)
    {
        if (!long.TryParse(timestampHeader, NumberStyles.None, CultureInfo.InvariantCulture, out var timestamp) || signatureHeader is null)
        {
            return false;
        }

        var age = now - DateTimeOffset.FromUnixTimeSeconds(timestamp);
        if (age > tolerance || age < -tolerance)
        {
            return false;
        }

        var expected = Encoding.ASCII.GetBytes(Sign(secret, timestamp, body));
        return CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(signatureHeader));
    }

    /// <summary>A new channel secret: 32 random bytes, base64url, prefixed.</summary>
    public static string NewSecret() => "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
