using System.Text.RegularExpressions;
using FastEndpoints;
using FluentValidation.Results;
using Microsoft.Extensions.Options;
using Npgsql;
using Ops.Modules.Audit.Contracts;
using Ops.Modules.Audit.Redaction;
using Ops.Modules.Audit.Settings;
using Ops.Modules.Shared.Security;

namespace Ops.Modules.Audit.Features.AuditSettings;

internal sealed class UpdateAuditSettingsRequest
{
    /// <summary>Days events are kept (1–3650). Omit to keep the current value.</summary>
    public int? RetentionDays { get; init; }

    /// <summary>Extra patterns (NonBacktracking .NET regex); matches become <c>[name]</c>. Replaces the list; omit to keep it.</summary>
    public IReadOnlyList<RedactionPatternDto>? RedactionPatterns { get; init; }

    /// <summary>Field names whose values are always redacted, at any depth (case and separators ignored). Replaces the list; omit to keep it.</summary>
    public IReadOnlyList<string>? RedactedFields { get; init; }
}

/// <summary>
/// Changes the tenant's retention and/or redaction settings. Patterns must compile as NonBacktracking regexes (so
/// no input can make them hang). Each change is audited with before and after (<c>retention.changed</c>,
/// <c>redaction.changed</c>) in the same transaction, and reaches every instance through the change feed.
/// </summary>
internal sealed partial class UpdateAuditSettingsEndpoint(
    NpgsqlDataSource dataSource,
    AuditSettingsStore settings,
    IAuditWriter audit,
    IOptions<AuditOptions> options,
    TimeProvider time) : Endpoint<UpdateAuditSettingsRequest, AuditSettingsResponse>
{
    /// <summary>The idempotency key and the columns every query filters on cannot be redacted away.</summary>
    private static readonly HashSet<string> StructuralFields = ["ts", "action", "requestid", "tenantid"];

    public override void Configure()
    {
        Put("/v1/settings/audit");
        Roles(Ops.Modules.Shared.Security.Roles.Admin);
        Summary(s =>
        {
            s.Summary = "Change the audit settings (retention, redaction)";
            s.Description = "Properties left out keep their current value. Audited as retention.changed / redaction.changed with before and after.";
        });
    }

    public override async Task HandleAsync(UpdateAuditSettingsRequest req, CancellationToken ct)
    {
        Validate(req, options.Value.Redaction);
        ThrowIfAnyErrors();

        var caller = HttpContext.GetCaller();
        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var before = await AuditSettingsStore.ReadForUpdateAsync(caller.TenantId, connection, transaction, ct);
        var after = before with
        {
            RetentionDays = req.RetentionDays ?? before.RetentionDays,
            RedactionPatterns = req.RedactionPatterns?.Select(p => new PatternSetting(p.Name, p.Pattern)).ToList() ?? before.RedactionPatterns,
            RedactedFields = req.RedactedFields?.Distinct(StringComparer.Ordinal).ToList() ?? before.RedactedFields,
            UpdatedAt = now,
            UpdatedBy = caller.Actor,
        };

        var defaultDays = options.Value.Retention.DefaultDays;
        var retentionChanged = after.RetentionDays != before.RetentionDays;
        var redactionChanged = !after.RedactionPatterns.SequenceEqual(before.RedactionPatterns) || !after.RedactedFields.SequenceEqual(before.RedactedFields);
        if (!retentionChanged && !redactionChanged)
        {
            await Send.OkAsync(AuditSettingsResponse.From(before, options.Value), ct);
            return;
        }

        var saved = await settings.SaveAsync(after, connection, transaction, ct);
        if (retentionChanged)
        {
            await audit.WriteAsync(
                OperatorAction.Create(HttpContext, "retention.changed", now, "settings:audit",
                    before: new { retention_days = before.RetentionDays ?? defaultDays },
                    after: new { retention_days = after.RetentionDays ?? defaultDays }),
                connection, transaction, ct);
        }

        if (redactionChanged)
        {
            await audit.WriteAsync(
                OperatorAction.Create(HttpContext, "redaction.changed", now, "settings:audit",
                    before: new { redaction_patterns = before.RedactionPatterns, redacted_fields = before.RedactedFields },
                    after: new { redaction_patterns = after.RedactionPatterns, redacted_fields = after.RedactedFields }),
                connection, transaction, ct);
        }

        await transaction.CommitAsync(ct);
        settings.Apply(saved);
        await Send.OkAsync(AuditSettingsResponse.From(saved, options.Value), ct);
    }

    private void Validate(UpdateAuditSettingsRequest req, AuditRedactionOptions limits)
    {
        if (req.RetentionDays is { } days && days is < AuditRetentionOptions.MinimumDays or > AuditRetentionOptions.MaximumDays)
        {
            AddError(new ValidationFailure("retention_days", $"must be between {AuditRetentionOptions.MinimumDays} and {AuditRetentionOptions.MaximumDays} days (10 years)."));
        }

        if (req.RedactionPatterns is { } patterns)
        {
            if (patterns.Count > limits.MaxPatternsPerTenant)
            {
                AddError(new ValidationFailure("redaction_patterns", $"may hold at most {limits.MaxPatternsPerTenant} patterns."));
            }

            var names = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < patterns.Count; i++)
            {
                var pattern = patterns[i];
                if (pattern is null)
                {
                    AddError(new ValidationFailure($"redaction_patterns[{i}]", "must be an object with name and pattern."));
                    continue;
                }

                if (pattern.Name is null || !PatternName().IsMatch(pattern.Name))
                {
                    AddError(new ValidationFailure($"redaction_patterns[{i}].name", "must be 1–32 characters: a lowercase letter, then lowercase letters, digits or _ (it becomes the marker [name])."));
                }
                else if (!names.Add(pattern.Name))
                {
                    AddError(new ValidationFailure($"redaction_patterns[{i}].name", $"'{pattern.Name}' is used by another pattern."));
                }

                if (string.IsNullOrEmpty(pattern.Pattern) || pattern.Pattern.Length > limits.MaxPatternLength)
                {
                    AddError(new ValidationFailure($"redaction_patterns[{i}].pattern", $"must be 1–{limits.MaxPatternLength} characters."));
                }
                else if (!PatternCompiler.TryCompile(pattern.Pattern, limits.PatternTimeout, out _, out var error))
                {
                    AddError(new ValidationFailure($"redaction_patterns[{i}].pattern", error!));
                }
            }
        }

        if (req.RedactedFields is { } fields)
        {
            if (fields.Count > limits.MaxFieldsPerTenant)
            {
                AddError(new ValidationFailure("redacted_fields", $"may hold at most {limits.MaxFieldsPerTenant} names."));
            }

            for (var i = 0; i < fields.Count; i++)
            {
                var field = fields[i];
                if (string.IsNullOrWhiteSpace(field) || field.Length > 100 || RedactionPolicy.NormalizeFieldName(field).Length == 0)
                {
                    AddError(new ValidationFailure($"redacted_fields[{i}]", "must be a field name of 1–100 characters."));
                }
                else if (StructuralFields.Contains(RedactionPolicy.NormalizeFieldName(field)))
                {
                    AddError(new ValidationFailure($"redacted_fields[{i}]", $"'{field}' identifies the event (ts, action, request_id and the tenant cannot be redacted)."));
                }
            }
        }
    }

    [GeneratedRegex("^[a-z][a-z0-9_]{0,31}$", RegexOptions.CultureInvariant)]
    private static partial Regex PatternName();
}
