using Npgsql;
using NpgsqlTypes;

namespace Ops.Modules.Usage.Ingestion;

/// <summary>
/// Binary COPY of priced events into usage.events (also the benchmark's raw-COPY baseline, so both write the same rows
/// the same way). Rows are written with the synchronous API: values go to Npgsql's buffer, and the rare flush to the
/// loopback socket costs less than an async state machine per value (27 per row).
/// </summary>
internal static class EventCopier
{
    private const string CopySql = """
        COPY usage.events (tenant_id, request_id, ts, received_at, tokens_in, tokens_out, cache_read_tokens, cache_write_tokens,
            latency_ms, ttft_ms, is_error, unpriced, user_id, model, provider, action, session_id, agent_id, channel, error_type,
            severity, cost_usd, reported_cost_usd, pricing_version, feedback, feedback_at, metadata)
        FROM STDIN (FORMAT BINARY)
        """;

    public static async Task CopyAsync(NpgsqlConnection connection, string tenantId, List<UsageEvent> events, DateTimeOffset receivedAt, CancellationToken cancellationToken)
    {
        var received = receivedAt.UtcDateTime;
        await using var importer = await connection.BeginBinaryImportAsync(CopySql, cancellationToken);
        foreach (var e in events)
        {
            importer.StartRow();
            importer.Write(tenantId, NpgsqlDbType.Text);
            importer.Write(e.RequestId, NpgsqlDbType.Text);
            importer.Write(e.Timestamp.UtcDateTime, NpgsqlDbType.TimestampTz);
            importer.Write(received, NpgsqlDbType.TimestampTz);
            importer.Write(e.TokensIn, NpgsqlDbType.Integer);
            importer.Write(e.TokensOut, NpgsqlDbType.Integer);
            importer.Write(e.CacheReadTokens, NpgsqlDbType.Integer);
            importer.Write(e.CacheWriteTokens, NpgsqlDbType.Integer);
            WriteNullable(importer, e.LatencyMs, NpgsqlDbType.Integer);
            WriteNullable(importer, e.TtftMs, NpgsqlDbType.Integer);
            importer.Write(e.IsError, NpgsqlDbType.Boolean);
            importer.Write(e.Unpriced, NpgsqlDbType.Boolean);
            importer.Write(e.UserId, NpgsqlDbType.Text);
            importer.Write(e.Model, NpgsqlDbType.Text);
            importer.Write(e.Provider, NpgsqlDbType.Text);
            importer.Write(e.Action, NpgsqlDbType.Text);
            WriteText(importer, e.SessionId, NpgsqlDbType.Text);
            WriteText(importer, e.AgentId, NpgsqlDbType.Text);
            WriteText(importer, e.Channel, NpgsqlDbType.Text);
            WriteText(importer, e.ErrorType, NpgsqlDbType.Text);
            WriteText(importer, e.Severity, NpgsqlDbType.Text);
            importer.Write(e.CostUsd, NpgsqlDbType.Numeric);
            WriteNullable(importer, e.ReportedCostUsd, NpgsqlDbType.Numeric);
            WriteText(importer, e.PricingVersion, NpgsqlDbType.Text);
            WriteText(importer, e.Feedback, NpgsqlDbType.Text);
            WriteNullable<DateTime>(importer, e.Feedback is null ? null : received, NpgsqlDbType.TimestampTz);
            WriteText(importer, e.MetadataJson, NpgsqlDbType.Jsonb);
        }

        await importer.CompleteAsync(cancellationToken);
    }

    private static void WriteText(NpgsqlBinaryImporter importer, string? value, NpgsqlDbType type)
    {
        if (value is null)
        {
            importer.WriteNull();
        }
        else
        {
            importer.Write(value, type);
        }
    }

    private static void WriteNullable<T>(NpgsqlBinaryImporter importer, T? value, NpgsqlDbType type)
        where T : struct
    {
        if (value is { } present)
        {
            importer.Write(present, type);
        }
        else
        {
            importer.WriteNull();
        }
    }
}
