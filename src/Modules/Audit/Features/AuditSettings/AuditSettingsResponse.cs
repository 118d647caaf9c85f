using Ops.Modules.Audit.Settings;

namespace Ops.Modules.Audit.Features.AuditSettings;

internal sealed record RedactionPatternDto(string Name, string Pattern);

internal sealed record AuditSettingsResponse(
    int RetentionDays,
    bool RetentionIsDefault,
    IReadOnlyList<RedactionPatternDto> RedactionPatterns,
    IReadOnlyList<string> RedactedFields,
    IReadOnlyList<string> OperatorRedactedFields,
    DateTimeOffset? UpdatedAt,
    string? UpdatedBy)
{
    public static AuditSettingsResponse From(TenantAuditSettings settings, AuditOptions options) => new(
        settings.RetentionDays ?? options.Retention.DefaultDays,
        settings.RetentionDays is null,
        settings.RedactionPatterns.Select(p => new RedactionPatternDto(p.Name, p.Pattern)).ToList(),
        settings.RedactedFields,
        AuditRedactionOptions.BuiltInFields.Concat(options.Redaction.AlwaysRedactedFields).ToList(),
        settings.UpdatedAt,
        settings.UpdatedBy);
}
