using FastEndpoints;
using FluentValidation;
using FluentValidation.Results;
using Ops.Modules.Shared.Security;
using Ops.Modules.Usage.Reading;

namespace Ops.Modules.Usage.Features;

/// <summary>
/// The filters every metrics, breakdown and export endpoint takes (query string). Periods are hour-aligned and end
/// with the current UTC hour (included): <c>1h</c> is the current hour, <c>24h</c> the current hour and the 23 before it, and
/// so on; <c>this_month</c> runs from the 1st 00:00 UTC; <c>custom</c> is [from, to) widened to whole hours.
/// Multi-valued filters repeat the parameter (<c>model=a&amp;model=b</c>) or separate values with commas.
/// </summary>
internal class UsageFilterRequest
{
    /// <summary>1h, 24h, 7d, 30d (default), this_month or custom (with from and to).</summary>
    [QueryParam]
    public string? Period { get; init; }

    /// <summary>With period=custom: the start (RFC 3339; rounded down to the hour).</summary>
    [QueryParam]
    public DateTimeOffset? From { get; init; }

    /// <summary>With period=custom: the end, exclusive (RFC 3339; rounded up to the hour).</summary>
    [QueryParam]
    public DateTimeOffset? To { get; init; }

    /// <summary>hour, day or week (ISO weeks, Monday 00:00 UTC). Default: hour for 1h and 24h, else day.</summary>
    [QueryParam]
    public string? GroupBy { get; init; }

    [QueryParam]
    public List<string>? Model { get; init; }

    [QueryParam]
    public List<string>? Provider { get; init; }

    [QueryParam]
    public List<string>? AgentId { get; init; }

    [QueryParam]
    public List<string>? Channel { get; init; }

    [QueryParam]
    public List<string>? SessionId { get; init; }

    [QueryParam]
    public List<string>? UserId { get; init; }

    public static readonly string[] Periods = ["1h", "24h", "7d", "30d", "this_month", "custom"];

    public const int MaxCustomDays = 400;
    public const int MaxHourBuckets = 31 * 24;
    public const int MaxValues = 50;

    /// <summary>
    /// The question at <paramref name="now"/>. Failures that depend on the resolved window (hour grouping over a long
    /// window) are returned, naming the parameter.
    /// </summary>
    public UsageQuery Resolve(string tenantId, DateTimeOffset now, out ValidationFailure? failure)
    {
        var hourEnd = UtcPeriods.HourStart(now).AddHours(1);
        var name = Period ?? "30d";
        var (from, to) = name switch
        {
            "1h" => (hourEnd.AddHours(-1), hourEnd),
            "24h" => (hourEnd.AddHours(-24), hourEnd),
            "7d" => (hourEnd.AddDays(-7), hourEnd),
            "30d" => (hourEnd.AddDays(-30), hourEnd),
            "this_month" => (UtcPeriods.StartOf(UtcPeriods.MonthStart(UtcPeriods.Day(now))), hourEnd),
            _ => (UtcPeriods.HourStart(From!.Value), CeilHour(To!.Value)),
        };
        var grouping = GroupBy switch
        {
            "hour" => TimeGrouping.Hour,
            "day" => TimeGrouping.Day,
            "week" => TimeGrouping.Week,
            _ => name is "1h" or "24h" ? TimeGrouping.Hour : TimeGrouping.Day,
        };
        var window = new UsageWindow(name, from, to, grouping);
        var filters = new UsageFilters(Values(Model), Values(Provider), Values(AgentId), Values(Channel), Values(SessionId), Values(UserId));

        failure = null;
        if (grouping == TimeGrouping.Hour && (to - from).TotalHours > MaxHourBuckets)
        {
            failure = new ValidationFailure("group_by", $"hour grouping covers at most {MaxHourBuckets / 24} days; use day or week.");
        }
        else if (grouping == TimeGrouping.Hour && filters.ByUserOrSession && !window.IsShort)
        {
            failure = new ValidationFailure("group_by", "with user_id or session_id, hour grouping covers at most 48 hours (those are kept by day); use day or week.");
        }

        return new UsageQuery(tenantId, window, filters);
    }

    private static DateTimeOffset CeilHour(DateTimeOffset at)
    {
        var start = UtcPeriods.HourStart(at);
        return start == at ? start : start.AddHours(1);
    }

    public static IReadOnlyList<string> Values(List<string>? raw) =>
        raw is null ? [] : raw.SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).Distinct(StringComparer.Ordinal).ToList();
}

internal sealed class UsageFilterRules : AbstractValidator<UsageFilterRequest>
{
    public UsageFilterRules()
    {
        RuleFor(r => r.Period).Must(p => p is null || UsageFilterRequest.Periods.Contains(p))
            .WithMessage($"must be one of {string.Join(", ", UsageFilterRequest.Periods)}.");
        RuleFor(r => r.GroupBy).Must(g => g is null or "hour" or "day" or "week").WithMessage("must be hour, day or week.");
        RuleFor(r => r.From).NotNull().When(r => r.Period == "custom").WithMessage("is required with period=custom.");
        RuleFor(r => r.To).NotNull().When(r => r.Period == "custom").WithMessage("is required with period=custom.");
        RuleFor(r => r.From).Null().When(r => r.Period != "custom").WithMessage("is only allowed with period=custom.");
        RuleFor(r => r.To).Null().When(r => r.Period != "custom").WithMessage("is only allowed with period=custom.");
        RuleFor(r => r.To).GreaterThan(r => r.From).When(r => r.From is not null && r.To is not null).WithMessage("must be after from.");
        RuleFor(r => r.To).Must((r, to) => to!.Value - r.From!.Value <= TimeSpan.FromDays(UsageFilterRequest.MaxCustomDays))
            .When(r => r.From is not null && r.To is not null && r.To > r.From)
            .WithMessage($"must be at most {UsageFilterRequest.MaxCustomDays} days after from.");
        Values(r => r.Model, "model");
        Values(r => r.Provider, "provider");
        Values(r => r.AgentId, "agent_id");
        Values(r => r.Channel, "channel");
        Values(r => r.SessionId, "session_id");
        Values(r => r.UserId, "user_id");
    }

    private void Values(Func<UsageFilterRequest, List<string>?> values, string name) =>
        RuleFor(r => UsageFilterRequest.Values(values(r)))
            .Must(v => v.Count <= UsageFilterRequest.MaxValues).WithMessage($"may list at most {UsageFilterRequest.MaxValues} values.")
            .Must(v => v.All(x => x.Length <= 256)).WithMessage("values must be at most 256 characters.")
            .OverridePropertyName(name);
}

/// <summary>The base of the metrics endpoints: role read, the caller's tenant, the common filters resolved at now.</summary>
internal abstract class UsageReadEndpoint<TRequest, TResponse>(TimeProvider time) : Endpoint<TRequest, TResponse>
    where TRequest : UsageFilterRequest, new()
    where TResponse : notnull
{
    protected TimeProvider Clock { get; } = time;

    protected void Route(string route, string summary, string description)
    {
        Get(route);
        Roles(Ops.Modules.Shared.Security.Roles.Read);
        Summary(s =>
        {
            s.Summary = summary;
            s.Description = description;
        });
    }

    /// <summary>The request's question for the caller's tenant at now; a 400 naming the parameter when it cannot be answered.</summary>
    protected UsageQuery Resolve(TRequest req)
    {
        var query = req.Resolve(HttpContext.GetCaller().TenantId, Clock.GetUtcNow(), out var failure);
        if (failure is not null)
        {
            AddError(failure);
        }

        ThrowIfAnyErrors();
        return query;
    }
}

/// <summary>The <c>period</c> object every response with a window carries.</summary>
internal sealed record PeriodDto(string Name, DateTimeOffset From, DateTimeOffset To, string GroupBy)
{
    public static PeriodDto Of(UsageWindow w) => new(w.Name, w.From, w.To, w.GroupBy.ToString().ToLowerInvariant());
}

/// <summary>The common filters alone.</summary>
internal sealed class UsageQueryRequest : UsageFilterRequest;

internal sealed class UsageQueryValidator : FastEndpoints.Validator<UsageQueryRequest>
{
    public UsageQueryValidator() => Include(new UsageFilterRules());
}

/// <summary>The common filters and how many of the top entries to list.</summary>
internal sealed class TopUsageQueryRequest : UsageFilterRequest
{
    public const int MaxTop = 1000;

    /// <summary>How many to list, highest cost first (1–1000; default 10 users, 100 sessions).</summary>
    [QueryParam]
    public int? Top { get; init; }
}

internal sealed class TopUsageQueryValidator : FastEndpoints.Validator<TopUsageQueryRequest>
{
    public TopUsageQueryValidator()
    {
        Include(new UsageFilterRules());
        RuleFor(r => r.Top).InclusiveBetween(1, TopUsageQueryRequest.MaxTop).When(r => r.Top is not null);
    }
}

/// <summary>A breakdown: the period and its items.</summary>
internal sealed record ItemsResponse<T>(PeriodDto Period, IReadOnlyList<T> Items);
