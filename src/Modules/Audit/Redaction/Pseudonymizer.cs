using System.Security.Cryptography;
using System.Text;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Ops.Modules.Audit.Redaction;

/// <summary>
/// Keyed pseudonyms for identifiers. A plain marker would merge every user whose id is an e-mail into one
/// "[email]" and make two request ids that differ only in a CPF collide in the idempotency key (silently dropping
/// the second event); <c>[email:1f0c…]</c> keeps them apart and stable, and without the key cannot be reversed
/// (HMAC-SHA256, 80 bits kept).
/// </summary>
internal sealed class Pseudonymizer
{
    private const int TagBytes = 10;
    private byte[] _key;

    public Pseudonymizer() => _key = RandomNumberGenerator.GetBytes(32);

    public bool IsLoaded { get; private set; }

    /// <summary>Appends the value's tag inside a marker: "[email]" → "[email:&lt;tag&gt;]"; "Bearer [secret]" → "Bearer [secret:&lt;tag&gt;]".</summary>
    public string Decorate(string marker, ReadOnlySpan<char> original)
    {
        var tag = Tag(original);
        var close = marker.LastIndexOf(']');
        return close < 0 ? $"{marker}:{tag}" : string.Concat(marker.AsSpan(0, close), ":", tag, marker.AsSpan(close));
    }

    public string Tag(ReadOnlySpan<char> original)
    {
        var bytes = Encoding.UTF8.GetBytes(original.ToArray());
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(_key, bytes, mac);
        return Convert.ToHexStringLower(mac[..TagBytes]);
    }

    /// <summary>Uses the configured key, or the deployment's stored one (creating it on the very first start).</summary>
    public async Task LoadAsync(NpgsqlDataSource dataSource, string? configuredKey, TimeProvider time, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrWhiteSpace(configuredKey))
        {
            var key = Convert.FromBase64String(configuredKey);
            if (key.Length < 32)
            {
                throw new InvalidOperationException("Modules:Audit:Redaction:PseudonymKey must be at least 32 bytes, base64-encoded.");
            }

            _key = key;
            IsLoaded = true;
            return;
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO audit.pseudonym_key (id, key_bytes, created_at) VALUES (1, @key, @now) ON CONFLICT (id) DO NOTHING",
            new { key = RandomNumberGenerator.GetBytes(32), now = time.GetUtcNow() },
            cancellationToken: cancellationToken));
        _key = await connection.ExecuteScalarAsync<byte[]>(new CommandDefinition(
            "SELECT key_bytes FROM audit.pseudonym_key WHERE id = 1", cancellationToken: cancellationToken)) ?? throw new InvalidOperationException("No pseudonym key.");
        IsLoaded = true;
    }
}

internal sealed class PseudonymKeyInitializer(Pseudonymizer pseudonymizer, NpgsqlDataSource dataSource, IOptions<AuditOptions> options, TimeProvider time)
    : Ops.Modules.Shared.Modules.IModuleInitializer
{
    public Task InitializeAsync(CancellationToken cancellationToken) =>
        pseudonymizer.LoadAsync(dataSource, options.Value.Redaction.PseudonymKey, time, cancellationToken);
}
