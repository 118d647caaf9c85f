using FastEndpoints;
using FluentValidation;
using Npgsql;
using Ops.Modules.Audit.Contracts;
using Ops.Modules.Shared.Http;
using Ops.Modules.Shared.Security;
using Ops.Modules.Usage.Budgets;
using Ops.Modules.Usage.Features.SetBudget;

namespace Ops.Modules.Usage.Features.DeleteBudget;

internal sealed class DeleteBudgetRequest
{
    /// <summary>tenant, agent or user.</summary>
    public string Scope { get; init; } = string.Empty;

    public string Id { get; init; } = string.Empty;

    /// <summary>day or month; without it both are removed.</summary>
    [QueryParam]
    public string? Period { get; init; }
}

internal sealed class DeleteBudgetValidator : Validator<DeleteBudgetRequest>
{
    public DeleteBudgetValidator()
    {
        RuleFor(r => r.Scope).Must(s => BudgetWire.ParseScope(s) is not null).WithMessage("must be tenant, agent or user.");
        RuleFor(r => r.Id).NotEmpty().MaximumLength(256);
        RuleFor(r => r.Period).Must(p => p is null || BudgetWire.ParsePeriod(p) is not null).WithMessage("must be day or month.");
    }
}

/// <summary>Removes a budget (one period, or both). Audited (<c>budget.deleted</c>) with the budget as it was.</summary>
internal sealed class DeleteBudgetEndpoint(NpgsqlDataSource dataSource, IAuditWriter audit, TimeProvider time) : Endpoint<DeleteBudgetRequest>
{
    public override void Configure()
    {
        Delete("/v1/budgets/{scope}/{id}");
        Roles(Ops.Modules.Shared.Security.Roles.Admin);
        Summary(s =>
        {
            s.Summary = "Remove a budget";
            s.Description = "With period=day|month removes that one; without, both. Audited as budget.deleted.";
            s.Responses[204] = "Removed.";
            s.Responses[404] = "No such budget.";
        });
    }

    public override async Task HandleAsync(DeleteBudgetRequest req, CancellationToken ct)
    {
        var caller = HttpContext.GetCaller();
        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var deleted = await BudgetStore.DeleteAsync(
            caller.TenantId, BudgetWire.ParseScope(req.Scope)!.Value, req.Id, BudgetWire.ParsePeriod(req.Period), connection, transaction, ct);
        if (deleted.Count == 0)
        {
            await Send.ResultAsync(Problems.NotFound($"No {req.Period ?? "day or month"} budget for {req.Scope} '{req.Id}'."));
            return;
        }

        foreach (var budget in deleted)
        {
            await audit.WriteAsync(OperatorAction.Create(HttpContext, "budget.deleted", now, SetBudgetEndpoint.Target(budget), before: BudgetDto.From(budget)), connection, transaction, ct);
        }

        await transaction.CommitAsync(ct);
        await Send.NoContentAsync(ct);
    }
}
