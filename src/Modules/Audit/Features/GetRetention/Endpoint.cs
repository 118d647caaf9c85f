using Dapper;
using FastEndpoints;
using Microsoft.Extensions.Options;
using Npgsql;
using Ops.Modules.Audit.Jobs;
using Ops.Modules.Audit.Settings;
using Ops.Modules.Shared.Security;

namespace Ops.Modules.Audit.Features.GetRetention;

/// <summary>The last run of the daily purge: when, and how much of this tenant's data it deleted.</summary>
internal sealed record LastPurge(DateTimeOffset StartedAt, DateTimeOffset FinishedAt, long EventsDeleted, long KeysDeleted);

internal sealed record RetentionResponse(
    int RetentionDays,
    bool RetentionIsDefault,
    DateTimeOffset ExpiresBefore,
    DateTimeOffset? OldestEventAt,
    LastPurge? LastPurge,
    DateTimeOffset NextPurgeAt);

/// <summary>
/// The tenant's retention policy, the oldest event it still has, and the last purge. Events before
/// <c>expires_before</c> are never served, even in the hours before the purge deletes them.
/// </summary>
internal sealed class GetRetentionEndpoint(NpgsqlDataSource dataSource, AuditSettingsStore settings, IOptions<AuditOptions> options, TimeProvider time)
    : EndpointWithoutRequest<RetentionResponse>
{
    public override void Configure()
    {
        Get("/v1/audit/retention");
        Roles(Ops.Modules.Shared.Security.Roles.Read);
        Summary(s => s.Summary = "Retention policy, oldest event kept, last purge");
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        var tenantId = HttpContext.GetCaller().TenantId;
        var now = time.GetUtcNow();
        var tenantSettings = settings.Get(tenantId);
        var cutoff = settings.RetentionCutoff(tenantId, now);

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var oldest = await connection.QuerySingleOrDefaultAsync<DateTimeOffset?>(new CommandDefinition(
            "SELECT ts FROM audit.events WHERE tenant_id = @tenantId AND ts >= @cutoff ORDER BY ts LIMIT 1",
            new { tenantId, cutoff }, cancellationToken: ct));
        var lastPurge = await connection.QuerySingleOrDefaultAsync<PurgeRow>(new CommandDefinition(
            """
            SELECT r.started_at, r.finished_at, coalesce(c.events_deleted, 0) AS events_deleted, coalesce(c.keys_deleted, 0) AS keys_deleted
            FROM (SELECT * FROM audit.purge_runs ORDER BY run_id DESC LIMIT 1) r
            LEFT JOIN audit.purge_counts c ON c.run_id = r.run_id AND c.tenant_id = @tenantId
            """,
            new { tenantId }, cancellationToken: ct));

        await Send.OkAsync(new RetentionResponse(
            tenantSettings.RetentionDays ?? options.Value.Retention.DefaultDays,
            tenantSettings.RetentionDays is null,
            cutoff,
            oldest,
            lastPurge is null ? null : new LastPurge(lastPurge.StartedAt, lastPurge.FinishedAt, lastPurge.EventsDeleted, lastPurge.KeysDeleted),
            AuditSchedule.NextRun(options.Value.Retention, now)), ct);
    }

    private sealed class PurgeRow
    {
        public DateTimeOffset StartedAt { get; init; }
        public DateTimeOffset FinishedAt { get; init; }
        public long EventsDeleted { get; init; }
        public long KeysDeleted { get; init; }
    }
}
