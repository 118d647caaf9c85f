using FastEndpoints;
using Ops.Modules.Shared.Security;
using Ops.Modules.Usage.Budgets;

namespace Ops.Modules.Usage.Features.ListBudgets;

internal sealed class ListBudgetsEndpoint(BudgetStore store) : EndpointWithoutRequest<BudgetListResponse>
{
    public override void Configure()
    {
        Get("/v1/budgets");
        Roles(Ops.Modules.Shared.Security.Roles.Read);
        Summary(s => s.Summary = "List the tenant's budgets");
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        var budgets = await store.ListAsync(HttpContext.GetCaller().TenantId, ct);
        await Send.OkAsync(new BudgetListResponse(budgets.Select(BudgetDto.From).ToList()), ct);
    }
}
