using FastEndpoints;
using FluentValidation;
using Npgsql;
using Microsoft.Extensions.Options;
using Ops.Modules.Audit.Contracts;
using Ops.Modules.Shared.Http;
using Ops.Modules.Shared.Security;
using Ops.Modules.Usage.Jobs;
using Ops.Modules.Usage.Pricing;

namespace Ops.Modules.Usage.Features.Reprice;

internal sealed class RepriceRequest
{
    /// <summary>First UTC day to reprice (inclusive). Must be within raw-event retention.</summary>
    public DateOnly From { get; init; }

    /// <summary>Last UTC day to reprice (inclusive), at the latest today.</summary>
    public DateOnly To { get; init; }

    /// <summary>The version to price those days with (a platform version or one of the tenant's own).</summary>
    public string Version { get; init; } = string.Empty;

    /// <summary>Only these models' events (default: every model). Models the version does not list become unpriced.</summary>
    public IReadOnlyList<string>? Models { get; init; }

    /// <summary>Why (recorded in the audit log and the repricing history).</summary>
    public string? Reason { get; init; }

    /// <summary>Platform admins only: the tenant to reprice (default: the caller's).</summary>
    public string? TenantId { get; init; }
}

internal sealed class RepriceValidator : Validator<RepriceRequest>
{
    public RepriceValidator()
    {
        RuleFor(r => r.From).NotEmpty();
        RuleFor(r => r.To).NotEmpty().GreaterThanOrEqualTo(r => r.From).WithMessage("must not be before from.");
        RuleFor(r => r.Version).NotEmpty();
        RuleFor(r => r.Reason).MaximumLength(500);
        RuleFor(r => r.Models).Must(m => m is null || (m.Count > 0 && m.All(model => !string.IsNullOrWhiteSpace(model))))
            .WithMessage("must name at least one model, or be left out for every model.");
    }
}

/// <param name="Events">Events now priced with the version.</param>
/// <param name="CostBeforeUsd">Their cost before the reprice.</param>
/// <param name="CostAfterUsd">Their cost now.</param>
internal sealed record RepriceResponse(
    long Id,
    string TenantId,
    DateOnly From,
    DateOnly To,
    string Version,
    long Events,
    decimal CostBeforeUsd,
    decimal CostAfterUsd,
    DateTimeOffset RepricedAt,
    string RepricedBy);

/// <summary>Recomputes a tenant's events and rollups in a day range with a named version, atomically. Audited.</summary>
internal sealed class RepriceEndpoint(
    NpgsqlDataSource dataSource,
    PricingCatalog catalog,
    RawEventRetention retention,
    IAuditWriter audit,
    IOptions<UsageOptions> options,
    TimeProvider time) : Endpoint<RepriceRequest, RepriceResponse>
{
    public override void Configure()
    {
        Post("/v1/admin/pricing/reprice");
        Roles(Ops.Modules.Shared.Security.Roles.Admin);
        Summary(s =>
        {
            s.Summary = "Reprice a date range with a named version";
            s.Description = "In one transaction: the range's events (of `models`, or all) are priced as if the version were in effect — "
                            + "models it does not list become unpriced — every rollup row they feed is recomputed, and later events of those "
                            + "days use the version too. Recorded with who did it and why.";
            s.Responses[200] = "Repriced.";
        });
    }

    public override async Task HandleAsync(RepriceRequest req, CancellationToken ct)
    {
        var caller = HttpContext.GetCaller();
        if (req.TenantId is not null && req.TenantId != caller.TenantId && !caller.IsPlatformAdmin)
        {
            await Send.ResultAsync(Problems.Forbidden("A tenant admin reprices its own tenant only."));
            return;
        }

        var tenantId = req.TenantId ?? caller.TenantId;
        var now = time.GetUtcNow();
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        if (req.To > today)
        {
            ThrowError(r => r.To, $"must be today ({today:yyyy-MM-dd}) or earlier.");
        }

        if (req.From < retention.Horizon)
        {
            ThrowError(r => r.From, $"must be {retention.Horizon:yyyy-MM-dd} or later: older raw events are past retention, so their rollups cannot be recomputed exactly.");
        }

        if (req.To.DayNumber - req.From.DayNumber + 1 > options.Value.MaxRepriceDays)
        {
            ThrowError(r => r.To, $"a reprice covers at most {options.Value.MaxRepriceDays} days.");
        }

        var version = (await catalog.GetCurrentAsync(ct)).Find(req.Version, tenantId);
        if (version is null)
        {
            ThrowError(r => r.Version, $"no pricing version '{req.Version}' exists for this tenant.");
        }

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var result = await Repricer.RepriceAsync(connection, transaction, new Pricing.RepriceRequest(tenantId, req.From, req.To, version, req.Models, req.Reason, caller.Actor, now), ct);
        var before = new
        {
            events = result.Before.Sum(b => b.Events),
            cost_usd = Money.Normalize(result.CostBeforeUsd),
            by_version = result.Before.Select(b => new { pricing_version = b.PricingVersion, events = b.Events, cost_usd = Money.Normalize(b.CostUsd) }),
        };
        var after = new { events = result.Events, cost_usd = Money.Normalize(result.CostAfterUsd), pricing_version = version.Id, models = req.Models };
        await audit.WriteAsync(
            OperatorAction.Create(HttpContext, "pricing.repriced", now, $"usage:{tenantId}:{req.From:yyyy-MM-dd}..{req.To:yyyy-MM-dd}", before, after, req.Reason, tenantId),
            connection,
            transaction,
            ct);
        await transaction.CommitAsync(ct);

        await Send.OkAsync(
            new RepriceResponse(result.AssignmentId, tenantId, req.From, req.To, version.Id, result.Events, Money.Normalize(result.CostBeforeUsd), Money.Normalize(result.CostAfterUsd), now, caller.Actor),
            ct);
    }
}
