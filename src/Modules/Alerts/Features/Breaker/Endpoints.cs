using FastEndpoints;
using FluentValidation;
using Npgsql;
using Ops.Modules.Alerts.Breaker;
using Ops.Modules.Alerts.Evaluation;
using Ops.Modules.Audit.Contracts;
using Ops.Modules.Shared.Security;

namespace Ops.Modules.Alerts.Features.Breaker;

/// <param name="Subject">user or agent: whose spend is summed and who is killed.</param>
/// <param name="WindowMinutes">The sliding window.</param>
/// <param name="LimitUsd">Spend over the window above which the subject is killed.</param>
/// <param name="KillMinutes">How long the kill lasts (the kill flag's expiry).</param>
internal sealed record BreakerResponse(bool Enabled, string Subject, int WindowMinutes, decimal LimitUsd, int KillMinutes)
{
    public static BreakerResponse From(BreakerSettings s) => new(s.Enabled, s.Subject, s.WindowMinutes, s.LimitUsd, s.KillMinutes);
}

/// <summary>The tenant's spend breaker (off until set).</summary>
internal sealed class GetBreakerEndpoint(BreakerSettingsStore settings) : EndpointWithoutRequest<BreakerResponse>
{
    public override void Configure()
    {
        Get("/v1/alerts/breaker");
        Roles(Ops.Modules.Shared.Security.Roles.Read);
        Summary(s => s.Summary = "Get the spend breaker");
    }

    public override async Task HandleAsync(CancellationToken ct) =>
        await Send.OkAsync(BreakerResponse.From(await settings.GetAsync(HttpContext.GetCaller().TenantId, ct)), ct);
}

internal sealed class UpdateBreakerRequest
{
    public bool Enabled { get; init; }

    /// <summary>user (default) or agent.</summary>
    public string Subject { get; init; } = BreakerSettings.User;

    /// <summary>1–1440.</summary>
    public int WindowMinutes { get; init; }

    /// <summary>Greater than 0.</summary>
    public decimal LimitUsd { get; init; }

    /// <summary>1–10080 (a week).</summary>
    public int KillMinutes { get; init; }
}

internal sealed class UpdateBreakerValidator : Validator<UpdateBreakerRequest>
{
    public UpdateBreakerValidator()
    {
        RuleFor(r => r.Subject).Must(s => s is BreakerSettings.User or BreakerSettings.Agent).WithMessage("must be user or agent.");
        RuleFor(r => r.WindowMinutes).InclusiveBetween(1, 1440);
        RuleFor(r => r.LimitUsd).GreaterThan(0m).LessThanOrEqualTo(1_000_000m);
        RuleFor(r => r.KillMinutes).InclusiveBetween(1, 10_080);
    }
}

/// <summary>
/// Sets the spend breaker. Takes effect on every instance within a second (change feed). Audited
/// (<c>alert_breaker.changed</c>, before/after).
/// </summary>
internal sealed class UpdateBreakerEndpoint(NpgsqlDataSource dataSource, BreakerSettingsStore settings, WatchedTenants tenants, IAuditWriter audit, TimeProvider time)
    : Endpoint<UpdateBreakerRequest, BreakerResponse>
{
    public override void Configure()
    {
        Put("/v1/alerts/breaker");
        Roles(Ops.Modules.Shared.Security.Roles.Admin);
        Summary(s =>
        {
            s.Summary = "Set the spend breaker";
            s.Description = "When one user's (or agent's) spend over the last window_minutes exceeds limit_usd, kill:user:{id} (or kill:agent:{id}) is set "
                            + "for kill_minutes, the spend_breaker alert fires, and both are audited. Checked as events are ingested.";
        });
    }

    public override async Task HandleAsync(UpdateBreakerRequest req, CancellationToken ct)
    {
        var caller = HttpContext.GetCaller();
        var now = time.GetUtcNow();
        var after = new BreakerSettings(req.Enabled, req.Subject, req.WindowMinutes, req.LimitUsd, req.KillMinutes);
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var before = await BreakerSettingsStore.ReadAsync(caller.TenantId, connection, transaction, ct);
        await settings.SaveAsync(caller.TenantId, after, now, caller.Actor, connection, transaction, ct);
        await audit.WriteAsync(
            OperatorAction.Create(HttpContext, "alert_breaker.changed", now, "alert_breaker", BreakerResponse.From(before), BreakerResponse.From(after)),
            connection, transaction, ct);
        await transaction.CommitAsync(ct);
        settings.Apply(caller.TenantId, after);
        await tenants.EnsureAsync(caller.TenantId, ct);
        await Send.OkAsync(BreakerResponse.From(after), ct);
    }
}
