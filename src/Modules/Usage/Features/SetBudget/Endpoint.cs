using FastEndpoints;
using FluentValidation;
using Npgsql;
using Ops.Modules.Audit.Contracts;
using Ops.Modules.Shared.Http;
using Ops.Modules.Shared.Security;
using Ops.Modules.Usage.Budgets;

namespace Ops.Modules.Usage.Features.SetBudget;

internal sealed class SetBudgetRequest
{
    /// <summary>tenant, agent or user.</summary>
    public string Scope { get; init; } = string.Empty;

    /// <summary>The agent or user id; for scope tenant, the caller's tenant id.</summary>
    public string Id { get; init; } = string.Empty;

    /// <summary>day (the UTC day) or month (the UTC calendar month).</summary>
    public string? Period { get; init; }

    /// <summary>The limit in USD for the period (&gt; 0, at most 6 decimals).</summary>
    public decimal? LimitUsd { get; init; }

    /// <summary>From which percentage of the limit the status is warning (0 &lt; pct ≤ 100; default 80).</summary>
    public decimal? WarningPct { get; init; }
}

internal sealed class SetBudgetValidator : Validator<SetBudgetRequest>
{
    public SetBudgetValidator()
    {
        RuleFor(r => r.Scope).Must(s => BudgetWire.ParseScope(s) is not null).WithMessage("must be tenant, agent or user.");
        RuleFor(r => r.Id).NotEmpty().MaximumLength(256);
        RuleFor(r => r.Period).Must(p => BudgetWire.ParsePeriod(p) is not null).WithMessage("must be day or month.");
        RuleFor(r => r.LimitUsd).NotNull().WithMessage("is required.")
            .Must(l => l is null || (l > 0 && l < 1_000_000_000_000m && decimal.Round(l.Value, 6) == l.Value))
            .WithMessage("must be a USD amount > 0 with at most 6 decimals.");
        RuleFor(r => r.WarningPct).Must(w => w is null || (w > 0 && w <= 100 && decimal.Round(w.Value, 2) == w.Value))
            .WithMessage("must be a percentage > 0 and ≤ 100 with at most 2 decimals.");
    }
}

/// <summary>Creates or replaces the budget of one entity for one period. Audited (<c>budget.set</c>) with before and after.</summary>
internal sealed class SetBudgetEndpoint(NpgsqlDataSource dataSource, IAuditWriter audit, TimeProvider time) : Endpoint<SetBudgetRequest, BudgetDto>
{
    public const decimal DefaultWarningPct = 80m;

    public override void Configure()
    {
        Put("/v1/budgets/{scope}/{id}");
        Roles(Ops.Modules.Shared.Security.Roles.Admin);
        Summary(s =>
        {
            s.Summary = "Set a budget (tenant, agent or user; per day or month)";
            s.Description = "One budget per scope, id and period; a PUT replaces it. For scope tenant the id is the caller's tenant id. "
                            + "Audited as budget.set with before and after.";
            s.Responses[200] = "The budget as stored.";
        });
    }

    public override async Task HandleAsync(SetBudgetRequest req, CancellationToken ct)
    {
        var caller = HttpContext.GetCaller();
        var scope = BudgetWire.ParseScope(req.Scope)!.Value;
        if (scope == Contracts.BudgetScope.Tenant && req.Id != caller.TenantId)
        {
            await Send.ResultAsync(Problems.BadRequest($"A tenant budget's id is the caller's tenant id ('{caller.TenantId}').", "id"));
            return;
        }

        var now = time.GetUtcNow();
        var period = BudgetWire.ParsePeriod(req.Period)!.Value;
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var before = (await BudgetStore.ReadForUpdateAsync(caller.TenantId, scope, req.Id, connection, transaction, ct)).FirstOrDefault(b => b.Period == period);
        var saved = await BudgetStore.UpsertAsync(
            caller.TenantId, new Budget(scope, req.Id, period, req.LimitUsd!.Value, req.WarningPct ?? DefaultWarningPct, now, caller.Actor), connection, transaction, ct);
        await audit.WriteAsync(
            OperatorAction.Create(HttpContext, "budget.set", now, Target(saved), before: before is null ? null : BudgetDto.From(before), after: BudgetDto.From(saved)),
            connection, transaction, ct);
        await transaction.CommitAsync(ct);
        await Send.OkAsync(BudgetDto.From(saved), ct);
    }

    public static string Target(Budget b) => $"budget:{BudgetWire.Name(b.Scope)}:{b.Id}:{BudgetWire.Name(b.Period)}";
}
