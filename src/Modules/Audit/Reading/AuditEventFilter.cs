using FluentValidation;

namespace Ops.Modules.Audit.Reading;

/// <summary>The filters listing and exporting share (query string, snake_case).</summary>
internal abstract class AuditEventFilter
{
    /// <summary>Only events at or after this instant (RFC 3339). Defaults to the start of the tenant's retention.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Only events before this instant (RFC 3339, exclusive).</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary>Exact action (<c>chat.reply</c>), or a prefix ending in <c>*</c> (<c>key.*</c>).</summary>
    public string? Action { get; init; }

    /// <summary>Exact user id, as stored (after redaction).</summary>
    public string? UserId { get; init; }

    /// <summary>Exact request id.</summary>
    public string? RequestId { get; init; }

    /// <summary>Exact status (<c>ok</c>, <c>error</c>, …).</summary>
    public string? Status { get; init; }
}

internal sealed class AuditEventFilterRules : AbstractValidator<AuditEventFilter>
{
    public AuditEventFilterRules()
    {
        RuleFor(r => r.To).GreaterThan(r => r.From).When(r => r.From is not null && r.To is not null).WithMessage("must be after from.");
        RuleFor(r => r.Action).MaximumLength(256).Must(a => a!.IndexOf('*', StringComparison.Ordinal) is < 0 || a.IndexOf('*', StringComparison.Ordinal) == a.Length - 1)
            .When(r => r.Action is not null).WithMessage("may contain '*' only at its end (a prefix match).");
        RuleFor(r => r.UserId).MaximumLength(4096);
        RuleFor(r => r.RequestId).MaximumLength(4096);
        RuleFor(r => r.Status).MaximumLength(4096);
    }
}
