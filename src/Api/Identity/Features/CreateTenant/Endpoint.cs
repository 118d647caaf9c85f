using System.Text.RegularExpressions;
using Dapper;
using FastEndpoints;
using FluentValidation;
using Npgsql;
using Ops.Modules.Audit.Contracts;
using Ops.Modules.Shared.Http;
using Ops.Modules.Shared.Security;

namespace Ops.Api.Identity.Features.CreateTenant;

internal sealed record CreateTenantRequest(string Id, string Name);

internal sealed record TenantResponse(string Id, string Name, DateTimeOffset CreatedAt);

internal sealed partial class CreateTenantValidator : Validator<CreateTenantRequest>
{
    public CreateTenantValidator()
    {
        RuleFor(r => r.Id).NotEmpty().Matches(TenantIdRegex()).WithMessage($"must be {TenantIds.Description}.");
        RuleFor(r => r.Name).NotEmpty().MaximumLength(200);
    }

    [GeneratedRegex(TenantIds.Pattern)]
    private static partial Regex TenantIdRegex();
}

internal sealed class CreateTenantEndpoint(NpgsqlDataSource dataSource, IAuditWriter audit, TimeProvider time) : Endpoint<CreateTenantRequest, TenantResponse>
{
    public override void Configure()
    {
        Post("/v1/admin/tenants");
        Roles(Ops.Modules.Shared.Security.Roles.Platform);
        Summary(s =>
        {
            s.Summary = "Create a tenant (platform admin)";
            s.Responses[201] = "The tenant was created.";
            s.Responses[409] = "A tenant with this id exists.";
        });
    }

    public override async Task HandleAsync(CreateTenantRequest req, CancellationToken ct)
    {
        var caller = HttpContext.GetCaller();
        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var inserted = await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO identity.tenants (tenant_id, name, created_at, created_by) VALUES (@id, @name, @now, @actor)
            ON CONFLICT (tenant_id) DO NOTHING
            """,
            new { id = req.Id, name = req.Name, now, actor = caller.Actor },
            transaction,
            cancellationToken: ct));
        if (inserted == 0)
        {
            await Send.ResultAsync(Problems.Conflict($"A tenant with id '{req.Id}' already exists.", "id"));
            return;
        }

        var tenant = new TenantResponse(req.Id, req.Name, now);
        await audit.WriteAsync(OperatorAction.Create(HttpContext, "tenant.created", now, $"tenant:{req.Id}", after: tenant, tenantId: req.Id), connection, transaction, ct);
        await transaction.CommitAsync(ct);
        await Send.ResponseAsync(tenant, StatusCodes.Status201Created, ct);
    }
}
