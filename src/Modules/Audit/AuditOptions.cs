using System.ComponentModel.DataAnnotations;

namespace Ops.Modules.Audit;

/// <summary>Bound to <c>Modules:Audit</c>; every setting is documented in docs/operations.md.</summary>
internal sealed class AuditOptions : IValidatableObject
{
    public const string Section = "Modules:Audit";

    /// <summary>Largest body <c>POST /v1/audit/events</c> accepts (413 above).</summary>
    [Range(1024, 1L << 30)]
    public long MaxBatchBytes { get; set; } = 10L * 1024 * 1024;

    /// <summary>Most events one request may carry (413 above).</summary>
    [Range(1, 1_000_000)]
    public int MaxBatchEvents { get; set; } = 10_000;

    /// <summary>Size cap, in bytes of JSON after redaction, of an event's fields beyond ts, user_id, request_id, action and status.</summary>
    [Range(128, 1 << 20)]
    public int MaxExtraFieldsBytes { get; set; } = 8 * 1024;

    /// <summary>Longest user_id, request_id, action, status or model accepted.</summary>
    [Range(16, 4096)]
    public int MaxFieldLength { get; set; } = 256;

    /// <summary>How far in the future an event's ts may be (clock skew of the sender).</summary>
    [Range(0, 86_400)]
    public int MaxFutureSkewSeconds { get; set; } = 300;

    [Range(1, 10_000)]
    public int DefaultPageSize { get; set; } = 100;

    [Range(1, 10_000)]
    public int MaxPageSize { get; set; } = 1000;

    /// <summary>Rows read per keyset query while streaming an export (memory stays proportional to this).</summary>
    [Range(100, 100_000)]
    public int ExportBatchSize { get; set; } = 5000;

    public AuditRetentionOptions Retention { get; set; } = new();

    public AuditRedactionOptions Redaction { get; set; } = new();

    public TimeSpan MaxFutureSkew => TimeSpan.FromSeconds(MaxFutureSkewSeconds);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (DefaultPageSize > MaxPageSize)
        {
            yield return new ValidationResult("must not exceed MaxPageSize.", [nameof(DefaultPageSize)]);
        }

        foreach (var (name, nested) in new (string, object)[] { (nameof(Retention), Retention), (nameof(Redaction), Redaction) })
        {
            var results = new List<ValidationResult>();
            Validator.TryValidateObject(nested, new ValidationContext(nested), results, validateAllProperties: true);
            foreach (var result in results)
            {
                yield return new ValidationResult(result.ErrorMessage, result.MemberNames.Select(m => $"{name}:{m}").ToArray());
            }
        }
    }
}

/// <summary>Bound to <c>Modules:Audit:Retention</c>.</summary>
internal sealed class AuditRetentionOptions
{
    public const int MinimumDays = 1;
    public const int MaximumDays = 3650;

    /// <summary>Retention of a tenant that has not chosen one.</summary>
    [Range(MinimumDays, MaximumDays)]
    public int DefaultDays { get; set; } = 90;

    /// <summary>When the daily purge runs (UTC, HH:mm). It runs once across all instances.</summary>
    [RegularExpression("^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    public string RunAtUtc { get; set; } = "00:15";

    /// <summary>Day partitions created ahead of time, so writes never wait for partition DDL.</summary>
    [Range(1, 366)]
    public int PartitionsAheadDays { get; set; } = 7;

    /// <summary>Rows deleted per statement when a tenant's retention is shorter than the longest one in force.</summary>
    [Range(100, 1_000_000)]
    public int DeleteBatchSize { get; set; } = 10_000;

    /// <summary>How long dropping a partition may wait for its lock (a long export holds one) before it is left for the next run.</summary>
    [Range(1, 600)]
    public int LockTimeoutSeconds { get; set; } = 5;
}

/// <summary>Bound to <c>Modules:Audit:Redaction</c>.</summary>
internal sealed class AuditRedactionOptions
{
    /// <summary>Field names whose values are always redacted for every tenant, on top of the built-in list.</summary>
    public string[] AlwaysRedactedFields { get; set; } = [];

    [Range(0, 200)]
    public int MaxPatternsPerTenant { get; set; } = 20;

    [Range(1, 10_000)]
    public int MaxPatternLength { get; set; } = 500;

    [Range(0, 1000)]
    public int MaxFieldsPerTenant { get; set; } = 100;

    /// <summary>Second guard for tenant patterns (NonBacktracking is linear already); a string that times out is stored as [redacted].</summary>
    [Range(1, 10_000)]
    public int PatternTimeoutMilliseconds { get; set; } = 100;

    public TimeSpan PatternTimeout => TimeSpan.FromMilliseconds(PatternTimeoutMilliseconds);

    /// <summary>
    /// Base64 key (32+ bytes) for the pseudonyms of identifiers (user_id, request_id) that contain personal data.
    /// Unset: a key is generated at first start and kept in the audit schema. Set it from a secret store to keep
    /// the key out of the database; changing it changes future pseudonyms.
    /// </summary>
    public string? PseudonymKey { get; set; }

    /// <summary>Always redacted, for every tenant: names that hold credentials or personal data by definition.</summary>
    public static readonly IReadOnlyList<string> BuiltInFields = Array.AsReadOnly(
    [
        "password", "passwd", "secret", "client_secret", "token", "access_token", "refresh_token", "id_token",
        "api_key", "authorization", "cookie", "set_cookie", "private_key", "credit_card", "card_number", "cvv", "cvc", "ssn",
    ]);
}
