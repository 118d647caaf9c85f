using Dapper;
using FastEndpoints;
using FluentValidation;
using Microsoft.AspNetCore.Http;
using Npgsql;
using Ops.Modules.Alerts.Delivery;
using Ops.Modules.Audit.Contracts;
using Ops.Modules.Shared.Http;
using Ops.Modules.Shared.Security;

namespace Ops.Modules.Alerts.Features.Channels;

/// <param name="Url">The endpoint; for Slack channels only its origin and last 4 characters (the URL itself is the credential).</param>
internal sealed record ChannelResponse(Guid Id, string Name, string Kind, string Url, bool Enabled, DateTimeOffset CreatedAt);

/// <param name="Secret">The signing secret (X-Ops-Signature). Shown only here, once.</param>
internal sealed record CreatedChannelResponse(Guid Id, string Name, string Kind, string Url, bool Enabled, DateTimeOffset CreatedAt, string Secret);

internal sealed record ListChannelsResponse(IReadOnlyList<ChannelResponse> Items);

internal sealed class ChannelRow
{
    public Guid Id { get; init; }
    public string Name { get; init; } = string.Empty;
    public string Kind { get; init; } = string.Empty;
    public string Url { get; init; } = string.Empty;
    public bool Enabled { get; init; }
    public DateTimeOffset CreatedAt { get; init; }

    public ChannelResponse ToResponse() => new(Id, Name, Kind, Kind == ChannelKinds.Slack ? Mask(Url) : Url, Enabled, CreatedAt);

    private static string Mask(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) ? $"{uri.GetLeftPart(UriPartial.Authority)}/…{url[^Math.Min(4, url.Length)..]}" : "…";
}

/// <summary>The tenant's notification channels (secrets are never returned after creation).</summary>
internal sealed class ListChannelsEndpoint(NpgsqlDataSource dataSource) : EndpointWithoutRequest<ListChannelsResponse>
{
    public override void Configure()
    {
        Get("/v1/alerts/channels");
        Roles(Ops.Modules.Shared.Security.Roles.Admin);
        Summary(s => s.Summary = "List notification channels");
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var rows = await connection.QueryAsync<ChannelRow>(new CommandDefinition(
            "SELECT id, name, kind, url, enabled, created_at FROM alerts.channels WHERE tenant_id = @tenantId AND deleted_at IS NULL ORDER BY created_at, name, id",
            new { tenantId = HttpContext.GetCaller().TenantId }, cancellationToken: ct));
        await Send.OkAsync(new ListChannelsResponse([.. rows.Select(r => r.ToResponse())]), ct);
    }
}

internal sealed class CreateChannelRequest
{
    /// <summary>A name shown in the alert log's deliveries (1–100 characters).</summary>
    public string Name { get; init; } = string.Empty;

    /// <summary>webhook (JSON body, signed) or slack (a Slack incoming-webhook URL).</summary>
    public string Kind { get; init; } = string.Empty;

    /// <summary>http(s) URL the alerts are POSTed to.</summary>
    public string Url { get; init; } = string.Empty;

    /// <summary>Default true.</summary>
    public bool Enabled { get; init; } = true;
}

internal sealed class CreateChannelValidator : Validator<CreateChannelRequest>
{
    public CreateChannelValidator()
    {
        RuleFor(r => r.Name).NotEmpty().MaximumLength(100);
        RuleFor(r => r.Kind).Must(k => k is ChannelKinds.Webhook or ChannelKinds.Slack).WithMessage("must be webhook or slack.");
        RuleFor(r => r.Url).NotEmpty().MaximumLength(2000)
            .Must(u => Uri.TryCreate(u, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp) && string.IsNullOrEmpty(uri.UserInfo))
            .WithMessage("must be an absolute http or https URL without credentials.");
    }
}

/// <summary>Adds a channel; the answer holds its signing secret, the only time it is shown. Audited (<c>alert_channel.created</c>).</summary>
internal sealed class CreateChannelEndpoint(NpgsqlDataSource dataSource, IAuditWriter audit, TimeProvider time) : Endpoint<CreateChannelRequest, CreatedChannelResponse>
{
    public override void Configure()
    {
        Post("/v1/alerts/channels");
        Roles(Ops.Modules.Shared.Security.Roles.Admin);
        Description(b => b.ClearDefaultProduces(StatusCodes.Status200OK).Produces<CreatedChannelResponse>(StatusCodes.Status201Created));
        Summary(s =>
        {
            s.Summary = "Add a notification channel (generic signed webhook or Slack incoming webhook)";
            s.Responses[201] = "Created; the only answer that shows the signing secret.";
        });
    }

    public override async Task HandleAsync(CreateChannelRequest req, CancellationToken ct)
    {
        var caller = HttpContext.GetCaller();
        var now = time.GetUtcNow();
        var row = new ChannelRow { Id = Guid.CreateVersion7(now), Name = req.Name, Kind = req.Kind, Url = req.Url, Enabled = req.Enabled, CreatedAt = now };
        var secret = WebhookSignature.NewSecret();
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO alerts.channels (tenant_id, id, name, kind, url, secret, enabled, created_at, created_by)
            VALUES (@tenantId, @Id, @Name, @Kind, @Url, @secret, @Enabled, @CreatedAt, @actor)
            """,
            new { tenantId = caller.TenantId, row.Id, row.Name, row.Kind, row.Url, secret, row.Enabled, row.CreatedAt, actor = caller.Actor }, transaction, cancellationToken: ct));
        await audit.WriteAsync(OperatorAction.Create(HttpContext, "alert_channel.created", now, $"alert_channel:{row.Id}", after: row.ToResponse()), connection, transaction, ct);
        await transaction.CommitAsync(ct);
        var shown = row.ToResponse();
        await Send.ResponseAsync(new CreatedChannelResponse(shown.Id, shown.Name, shown.Kind, shown.Url, shown.Enabled, shown.CreatedAt, secret), StatusCodes.Status201Created, ct);
    }
}

internal sealed class DeleteChannelRequest
{
    public Guid Id { get; init; }
}

/// <summary>Removes a channel: nothing more is sent to it (its past deliveries stay in the log). Audited.</summary>
internal sealed class DeleteChannelEndpoint(NpgsqlDataSource dataSource, IAuditWriter audit, TimeProvider time) : Endpoint<DeleteChannelRequest>
{
    public override void Configure()
    {
        Delete("/v1/alerts/channels/{id}");
        Roles(Ops.Modules.Shared.Security.Roles.Admin);
        Summary(s =>
        {
            s.Summary = "Remove a notification channel";
            s.Responses[204] = "Removed.";
            s.Responses[404] = "No such channel.";
        });
    }

    public override async Task HandleAsync(DeleteChannelRequest req, CancellationToken ct)
    {
        var caller = HttpContext.GetCaller();
        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<ChannelRow>(new CommandDefinition(
            """
            UPDATE alerts.channels SET deleted_at = @now, enabled = false WHERE tenant_id = @tenantId AND id = @id AND deleted_at IS NULL
            RETURNING id, name, kind, url, enabled, created_at
            """,
            new { tenantId = caller.TenantId, id = req.Id, now }, transaction, cancellationToken: ct));
        if (row is null)
        {
            await Send.ResultAsync(Problems.NotFound($"There is no channel {req.Id}."));
            return;
        }

        await audit.WriteAsync(OperatorAction.Create(HttpContext, "alert_channel.deleted", now, $"alert_channel:{row.Id}", before: row.ToResponse()), connection, transaction, ct);
        await transaction.CommitAsync(ct);
        await Send.NoContentAsync(ct);
    }
}
