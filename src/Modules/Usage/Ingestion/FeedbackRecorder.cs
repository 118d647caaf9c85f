using Dapper;
using Npgsql;
using Ops.Modules.Audit.Contracts;

namespace Ops.Modules.Usage.Ingestion;

internal sealed record FeedbackOutcome(string RequestId, string Rating, string? PreviousRating, DateTimeOffset RecordedAt);

/// <summary>
/// Thumbs up/down on an earlier event: the latest rating replaces the previous one. If the event is already folded
/// into the rollups, its hourly and daily rows (both grains) move their up/down counts by the difference in the same transaction;
/// if not, the fold will count the rating it finds. The fold's watermark row, held shared, decides which.
/// </summary>
internal sealed class FeedbackRecorder(NpgsqlDataSource dataSource, IRedactor redactor, TimeProvider time)
{
    /// <summary>Null when the tenant has no (retained) event with this request id.</summary>
    public async Task<FeedbackOutcome?> RecordAsync(string tenantId, string requestId, string rating, string? comment, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var folded = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            """
            INSERT INTO usage.rollup_watermarks (tenant_id, folded_below) VALUES (@tenantId, '0') ON CONFLICT DO NOTHING;
            SELECT folded_below::text::bigint FROM usage.rollup_watermarks WHERE tenant_id = @tenantId FOR SHARE;
            """,
            new { tenantId },
            transaction,
            cancellationToken: cancellationToken));
        var rated = await connection.QuerySingleOrDefaultAsync<RatedEvent>(new CommandDefinition(
            """
            SELECT ts, model, provider, coalesce(agent_id, '') AS agent_id, coalesce(channel, '') AS channel, feedback, txid::text::bigint AS txid
            FROM usage.events WHERE tenant_id = @tenantId AND request_id = @requestId
            FOR UPDATE
            """,
            new { tenantId, requestId },
            transaction,
            cancellationToken: cancellationToken));
        if (rated is null)
        {
            return null;
        }

        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE usage.events SET feedback = @rating, feedback_comment = @comment, feedback_at = @now WHERE tenant_id = @tenantId AND request_id = @requestId",
            new { tenantId, requestId, rating, comment = comment is null ? null : redactor.RedactText(comment, tenantId), now },
            transaction,
            cancellationToken: cancellationToken));

        var up = (rating == Ratings.Up ? 1 : 0) - (rated.Feedback == Ratings.Up ? 1 : 0);
        var down = (rating == Ratings.Down ? 1 : 0) - (rated.Feedback == Ratings.Down ? 1 : 0);
        if ((up != 0 || down != 0) && rated.Txid < folded)
        {
            var row = new
            {
                tenantId,
                hour = rated.Ts.UtcDateTime.Date.AddHours(rated.Ts.UtcDateTime.Hour),
                day = DateOnly.FromDateTime(rated.Ts.UtcDateTime),
                rated.Model,
                rated.Provider,
                rated.AgentId,
                rated.Channel,
                up,
                down,
            };
            await connection.ExecuteAsync(new CommandDefinition(
                """
                UPDATE usage.hourly_rollup SET feedback_up = feedback_up + @up, feedback_down = feedback_down + @down
                WHERE tenant_id = @tenantId AND hour = @hour AND model = @Model AND provider = @Provider AND agent_id = @AgentId AND channel = @Channel;
                UPDATE usage.daily_rollup SET feedback_up = feedback_up + @up, feedback_down = feedback_down + @down
                WHERE tenant_id = @tenantId AND day = @day AND model = @Model AND provider = @Provider AND agent_id = @AgentId AND channel = @Channel;
                UPDATE usage.hourly_model_rollup SET feedback_up = feedback_up + @up, feedback_down = feedback_down + @down
                WHERE tenant_id = @tenantId AND hour = @hour AND model = @Model AND provider = @Provider;
                UPDATE usage.daily_model_rollup SET feedback_up = feedback_up + @up, feedback_down = feedback_down + @down
                WHERE tenant_id = @tenantId AND day = @day AND model = @Model AND provider = @Provider;
                """,
                row,
                transaction,
                cancellationToken: cancellationToken));
        }

        await transaction.CommitAsync(cancellationToken);
        return new FeedbackOutcome(requestId, rating, rated.Feedback, now);
    }

    private sealed class RatedEvent
    {
        public DateTimeOffset Ts { get; init; }
        public string Model { get; init; } = string.Empty;
        public string Provider { get; init; } = string.Empty;
        public string AgentId { get; init; } = string.Empty;
        public string Channel { get; init; } = string.Empty;
        public string? Feedback { get; init; }
        public long Txid { get; init; }
    }
}
