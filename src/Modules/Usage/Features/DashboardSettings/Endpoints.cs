using FastEndpoints;
using FluentValidation;
using Npgsql;
using Ops.Modules.Audit.Contracts;
using Ops.Modules.Shared.Security;
using Ops.Modules.Usage.Dashboard;

namespace Ops.Modules.Usage.Features.DashboardSettings;

internal sealed class GetDashboardSettingsEndpoint(NpgsqlDataSource dataSource) : EndpointWithoutRequest<TenantDashboardSettings>
{
    public override void Configure()
    {
        Get("/v1/settings/dashboard");
        Roles(Ops.Modules.Shared.Security.Roles.Read);
        Summary(s => s.Summary = "Get the dashboard's thresholds and display currency");
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await Send.OkAsync(await DashboardSettingsStore.ReadAsync(connection, HttpContext.GetCaller().TenantId, ct), ct);
    }
}

/// <summary>Fields left out keep their current value.</summary>
internal sealed class UpdateDashboardSettingsRequest
{
    /// <summary>Errors in 24 hours above which the errors card warns (≥ 0; default 20).</summary>
    public int? ErrorsThreshold { get; init; }

    /// <summary>The p95 latency SLO in seconds (default 3.0): critical above it, warning above 80 % of it.</summary>
    public decimal? LatencySloS { get; init; }

    /// <summary>TTFT p95 goal in ms (default 800): warning above it.</summary>
    public int? TtftGoalMs { get; init; }

    /// <summary>TTFT p95 in ms above which the card is critical (default 2000; ≥ the goal).</summary>
    public int? TtftRedMs { get; init; }

    /// <summary>Thumbs-up ratio goal, 0–1 (default 0.9): warning below it.</summary>
    public decimal? FeedbackGoal { get; init; }

    /// <summary>Thumbs-up ratio below which the card is critical (default 0.8; ≤ the goal).</summary>
    public decimal? FeedbackRedBelow { get; init; }

    /// <summary>Display currency, ISO 4217 (e.g. BRL; default USD).</summary>
    public string? Currency { get; init; }

    /// <summary>Units of the display currency per USD (&gt; 0, at most 6 decimals; default 1).</summary>
    public decimal? Rate { get; init; }
}

internal sealed class UpdateDashboardSettingsValidator : Validator<UpdateDashboardSettingsRequest>
{
    public UpdateDashboardSettingsValidator()
    {
        RuleFor(r => r.ErrorsThreshold).InclusiveBetween(0, 1_000_000_000);
        RuleFor(r => r.LatencySloS).Must(v => v is null || (v > 0 && v <= 3600 && decimal.Round(v.Value, 3) == v)).WithMessage("must be seconds > 0 and ≤ 3600, at most 3 decimals.");
        RuleFor(r => r.TtftGoalMs).InclusiveBetween(1, 3_600_000);
        RuleFor(r => r.TtftRedMs).InclusiveBetween(1, 3_600_000);
        RuleFor(r => r.FeedbackGoal).Must(v => v is null || (v > 0 && v <= 1 && decimal.Round(v.Value, 4) == v)).WithMessage("must be a ratio > 0 and ≤ 1, at most 4 decimals.");
        RuleFor(r => r.FeedbackRedBelow).Must(v => v is null || (v >= 0 && v <= 1 && decimal.Round(v.Value, 4) == v)).WithMessage("must be a ratio between 0 and 1, at most 4 decimals.");
        RuleFor(r => r.Currency).Matches("^[A-Z]{3}$").When(r => r.Currency is not null).WithMessage("must be an ISO 4217 code (three capital letters).");
        RuleFor(r => r.Rate).Must(v => v is null || (v > 0 && v < 1_000_000_000_000m && decimal.Round(v.Value, 6) == v)).WithMessage("must be > 0 with at most 6 decimals.");
    }
}

/// <summary>Changes the tenant's thresholds/currency; audited (<c>dashboard_settings.changed</c>) with before and after.</summary>
internal sealed class UpdateDashboardSettingsEndpoint(NpgsqlDataSource dataSource, IAuditWriter audit, TimeProvider time)
    : Endpoint<UpdateDashboardSettingsRequest, TenantDashboardSettings>
{
    public override void Configure()
    {
        Put("/v1/settings/dashboard");
        Roles(Ops.Modules.Shared.Security.Roles.Admin);
        Summary(s =>
        {
            s.Summary = "Change the dashboard's thresholds and display currency";
            s.Description = "Fields left out keep their value. Audited as dashboard_settings.changed with before and after.";
        });
    }

    public override async Task HandleAsync(UpdateDashboardSettingsRequest req, CancellationToken ct)
    {
        var caller = HttpContext.GetCaller();
        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var before = await DashboardSettingsStore.ReadAsync(connection, caller.TenantId, ct, transaction, forUpdate: true);
        var after = before with
        {
            ErrorsThreshold = req.ErrorsThreshold ?? before.ErrorsThreshold,
            LatencySloS = req.LatencySloS ?? before.LatencySloS,
            TtftGoalMs = req.TtftGoalMs ?? before.TtftGoalMs,
            TtftRedMs = req.TtftRedMs ?? before.TtftRedMs,
            FeedbackGoal = req.FeedbackGoal ?? before.FeedbackGoal,
            FeedbackRedBelow = req.FeedbackRedBelow ?? before.FeedbackRedBelow,
            Currency = req.Currency ?? before.Currency,
            Rate = req.Rate ?? before.Rate,
            UpdatedAt = now,
            UpdatedBy = caller.Actor,
        };
        if (after.TtftRedMs < after.TtftGoalMs)
        {
            ThrowError(r => r.TtftRedMs, $"must be at least ttft_goal_ms ({after.TtftGoalMs}).");
        }

        if (after.FeedbackRedBelow > after.FeedbackGoal)
        {
            ThrowError(r => r.FeedbackRedBelow, $"must be at most feedback_goal ({after.FeedbackGoal}).");
        }

        var saved = await DashboardSettingsStore.SaveAsync(connection, transaction, caller.TenantId, after, ct);
        await audit.WriteAsync(
            OperatorAction.Create(HttpContext, "dashboard_settings.changed", now, "settings:dashboard",
                before: before, after: saved),
            connection, transaction, ct);
        await transaction.CommitAsync(ct);
        await Send.OkAsync(saved, ct);
    }
}
