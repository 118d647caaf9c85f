using Npgsql;
using NpgsqlTypes;

namespace Ops.Modules.Usage.Ingestion;

/// <summary>
/// Applies a batch's <see cref="RollupDeltas"/> in one round trip: one set-based upsert per rollup table, each
/// feeding its rows in key order so concurrent batches lock shared rows in the same order (no deadlocks), and
/// run last in the transaction so hot rows stay locked only until the commit right after.
/// </summary>
internal static class RollupWriter
{
    /// <summary>The measures both the hourly and the daily rollup add up; sketches merge with usage.sketch_merge.</summary>
    private const string MeasureUpdates = """
        requests = r.requests + excluded.requests,
        tokens_in = r.tokens_in + excluded.tokens_in,
        tokens_out = r.tokens_out + excluded.tokens_out,
        cache_read_tokens = r.cache_read_tokens + excluded.cache_read_tokens,
        cache_write_tokens = r.cache_write_tokens + excluded.cache_write_tokens,
        cost_usd = r.cost_usd + excluded.cost_usd,
        reported_cost_usd = r.reported_cost_usd + excluded.reported_cost_usd,
        unpriced_requests = r.unpriced_requests + excluded.unpriced_requests,
        errors = r.errors + excluded.errors,
        critical_errors = r.critical_errors + excluded.critical_errors,
        feedback_up = r.feedback_up + excluded.feedback_up,
        feedback_down = r.feedback_down + excluded.feedback_down,
        latency_count = r.latency_count + excluded.latency_count,
        latency_sum_ms = r.latency_sum_ms + excluded.latency_sum_ms,
        latency_sketch = CASE WHEN excluded.latency_count = 0 THEN r.latency_sketch ELSE usage.sketch_merge(r.latency_sketch, excluded.latency_sketch) END,
        ttft_count = r.ttft_count + excluded.ttft_count,
        ttft_sum_ms = r.ttft_sum_ms + excluded.ttft_sum_ms,
        ttft_sketch = CASE WHEN excluded.ttft_count = 0 THEN r.ttft_sketch ELSE usage.sketch_merge(r.ttft_sketch, excluded.ttft_sketch) END,
        pricing_version = excluded.pricing_version
        """;

    private static string MeasureUpsert(string table, string timeColumn, string timeType) => $"""
        INSERT INTO usage.{table} AS r (tenant_id, {timeColumn}, model, provider, agent_id, channel, requests, tokens_in, tokens_out,
            cache_read_tokens, cache_write_tokens, cost_usd, reported_cost_usd, unpriced_requests, errors, critical_errors,
            feedback_up, feedback_down, latency_count, latency_sum_ms, latency_sketch, ttft_count, ttft_sum_ms, ttft_sketch, pricing_version)
        SELECT @tenant, t, model, provider, agent, channel, requests, tokens_in, tokens_out, cache_read, cache_write, cost, reported,
            unpriced, errors, critical, up, down, latency_count, latency_sum, latency_sketch::bigint[], ttft_count, ttft_sum, ttft_sketch::bigint[], version
        FROM unnest(@time::{timeType}[], @model, @provider, @agent, @channel, @requests, @tokens_in, @tokens_out, @cache_read, @cache_write,
            @cost, @reported, @unpriced, @errors, @critical, @up, @down, @latency_count, @latency_sum, @latency_sketch, @ttft_count,
            @ttft_sum, @ttft_sketch, @version)
            AS u(t, model, provider, agent, channel, requests, tokens_in, tokens_out, cache_read, cache_write, cost, reported, unpriced,
                 errors, critical, up, down, latency_count, latency_sum, latency_sketch, ttft_count, ttft_sum, ttft_sketch, version)
        ORDER BY t, model, provider, agent, channel
        ON CONFLICT (tenant_id, {timeColumn}, model, provider, agent_id, channel) DO UPDATE SET
        {MeasureUpdates}
        """;

    private static readonly string HourlySql = MeasureUpsert("hourly_rollup", "hour", "timestamptz");
    private static readonly string DailySql = MeasureUpsert("daily_rollup", "day", "date");

    private const string UsageDailySql = """
        INSERT INTO usage.usage_daily AS r (tenant_id, user_id, day, model, tokens_in, tokens_out, cache_read_tokens, cache_write_tokens,
            requests, errors, unpriced_requests, cost_usd, pricing_version, updated_at)
        SELECT @tenant, u.*, @now
        FROM unnest(@user, @day, @model, @tokens_in, @tokens_out, @cache_read, @cache_write, @requests, @errors, @unpriced, @cost, @version)
            AS u(user_id, day, model, tokens_in, tokens_out, cache_read, cache_write, requests, errors, unpriced, cost, version)
        ORDER BY user_id, day, model
        ON CONFLICT (tenant_id, user_id, day, model) DO UPDATE SET
            tokens_in = r.tokens_in + excluded.tokens_in,
            tokens_out = r.tokens_out + excluded.tokens_out,
            cache_read_tokens = r.cache_read_tokens + excluded.cache_read_tokens,
            cache_write_tokens = r.cache_write_tokens + excluded.cache_write_tokens,
            requests = r.requests + excluded.requests,
            errors = r.errors + excluded.errors,
            unpriced_requests = r.unpriced_requests + excluded.unpriced_requests,
            cost_usd = r.cost_usd + excluded.cost_usd,
            pricing_version = excluded.pricing_version,
            updated_at = excluded.updated_at
        """;

    private const string ActiveUsersSql = """
        INSERT INTO usage.daily_active_users (tenant_id, day, user_id, first_seen_at)
        SELECT @tenant, u.* FROM unnest(@day, @user, @first_seen) AS u(day, user_id, first_seen)
        ORDER BY day, user_id
        ON CONFLICT (tenant_id, day, user_id) DO NOTHING
        """;

    private const string ActivitySql = """
        INSERT INTO usage.activity_daily AS r (tenant_id, day, user_id, session_id, agent_id, channel, model, provider, requests,
            tokens_in, tokens_out, cost_usd, errors, unpriced_requests, first_ts, last_ts, pricing_version)
        SELECT @tenant, u.*
        FROM unnest(@day, @user, @session, @agent, @channel, @model, @provider, @requests, @tokens_in, @tokens_out, @cost, @errors,
            @unpriced, @first_ts, @last_ts, @version)
            AS u(day, user_id, session_id, agent_id, channel, model, provider, requests, tokens_in, tokens_out, cost, errors, unpriced,
                 first_ts, last_ts, version)
        ORDER BY day, user_id, session_id, agent_id, channel, model, provider
        ON CONFLICT (tenant_id, day, user_id, session_id, agent_id, channel, model, provider) DO UPDATE SET
            requests = r.requests + excluded.requests,
            tokens_in = r.tokens_in + excluded.tokens_in,
            tokens_out = r.tokens_out + excluded.tokens_out,
            cost_usd = r.cost_usd + excluded.cost_usd,
            errors = r.errors + excluded.errors,
            unpriced_requests = r.unpriced_requests + excluded.unpriced_requests,
            first_ts = least(r.first_ts, excluded.first_ts),
            last_ts = greatest(r.last_ts, excluded.last_ts),
            pricing_version = excluded.pricing_version
        """;

    private const string ErrorsSql = """
        INSERT INTO usage.error_hourly AS r (tenant_id, hour, action, severity, error_type, model, provider, agent_id, channel, errors)
        SELECT @tenant, u.*
        FROM unnest(@hour, @action, @severity, @error_type, @model, @provider, @agent, @channel, @errors)
            AS u(hour, action, severity, error_type, model, provider, agent, channel, errors)
        ORDER BY hour, action, severity, error_type, model, provider, agent, channel
        ON CONFLICT (tenant_id, hour, action, severity, error_type, model, provider, agent_id, channel) DO UPDATE SET
            errors = r.errors + excluded.errors
        """;

    public static async Task WriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string tenantId, RollupDeltas deltas, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(connection, transaction);
        batch.BatchCommands.Add(Measures(HourlySql, tenantId, deltas.Hourly.Select(r => (Time: (object)r.Key.Hour.UtcDateTime, r.Key.Model, r.Key.Provider, r.Key.Agent, r.Key.Channel, r.Value)), NpgsqlDbType.TimestampTz));
        batch.BatchCommands.Add(Measures(DailySql, tenantId, deltas.Daily.Select(r => (Time: (object)r.Key.Day, r.Key.Model, r.Key.Provider, r.Key.Agent, r.Key.Channel, r.Value)), NpgsqlDbType.Date));
        batch.BatchCommands.Add(UsageDaily(tenantId, deltas, now));
        batch.BatchCommands.Add(ActiveUsers(tenantId, deltas));
        batch.BatchCommands.Add(Activity(tenantId, deltas));
        if (deltas.Errors.Count > 0)
        {
            batch.BatchCommands.Add(Errors(tenantId, deltas));
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    private static NpgsqlBatchCommand Measures(
        string sql,
        string tenantId,
        IEnumerable<(object Time, string Model, string Provider, string Agent, string Channel, MeasureDelta Delta)> source,
        NpgsqlDbType timeType)
    {
        var rows = source.ToList();
        var command = new NpgsqlBatchCommand(sql);
        var p = command.Parameters;
        p.Add(new NpgsqlParameter("tenant", NpgsqlDbType.Text) { Value = tenantId });
        p.Add(new NpgsqlParameter("time", NpgsqlDbType.Array | timeType) { Value = timeType == NpgsqlDbType.Date ? rows.Select(r => (DateOnly)r.Time).ToArray() : rows.Select(r => (DateTime)r.Time).ToArray() });
        AddText(p, "model", rows.Select(r => r.Model));
        AddText(p, "provider", rows.Select(r => r.Provider));
        AddText(p, "agent", rows.Select(r => r.Agent));
        AddText(p, "channel", rows.Select(r => r.Channel));
        AddLong(p, "requests", rows.Select(r => r.Delta.Requests));
        AddLong(p, "tokens_in", rows.Select(r => r.Delta.TokensIn));
        AddLong(p, "tokens_out", rows.Select(r => r.Delta.TokensOut));
        AddLong(p, "cache_read", rows.Select(r => r.Delta.CacheReadTokens));
        AddLong(p, "cache_write", rows.Select(r => r.Delta.CacheWriteTokens));
        AddMoney(p, "cost", rows.Select(r => r.Delta.CostUsd));
        AddMoney(p, "reported", rows.Select(r => r.Delta.ReportedCostUsd));
        AddLong(p, "unpriced", rows.Select(r => r.Delta.UnpricedRequests));
        AddLong(p, "errors", rows.Select(r => r.Delta.Errors));
        AddLong(p, "critical", rows.Select(r => r.Delta.CriticalErrors));
        AddLong(p, "up", rows.Select(r => r.Delta.FeedbackUp));
        AddLong(p, "down", rows.Select(r => r.Delta.FeedbackDown));
        AddLong(p, "latency_count", rows.Select(r => r.Delta.Latency.Count));
        AddLong(p, "latency_sum", rows.Select(r => r.Delta.LatencySumMs));
        AddText(p, "latency_sketch", rows.Select(r => r.Delta.Latency.ToPostgresLiteral()));
        AddLong(p, "ttft_count", rows.Select(r => r.Delta.Ttft.Count));
        AddLong(p, "ttft_sum", rows.Select(r => r.Delta.TtftSumMs));
        AddText(p, "ttft_sketch", rows.Select(r => r.Delta.Ttft.ToPostgresLiteral()));
        AddText(p, "version", rows.Select(r => r.Delta.PricingVersion));
        return command;
    }

    private static NpgsqlBatchCommand UsageDaily(string tenantId, RollupDeltas deltas, DateTimeOffset now)
    {
        var rows = deltas.UsageDaily.ToList();
        var command = new NpgsqlBatchCommand(UsageDailySql);
        var p = command.Parameters;
        p.Add(new NpgsqlParameter("tenant", NpgsqlDbType.Text) { Value = tenantId });
        p.Add(new NpgsqlParameter("now", NpgsqlDbType.TimestampTz) { Value = now.UtcDateTime });
        AddText(p, "user", rows.Select(r => r.Key.User));
        AddDate(p, "day", rows.Select(r => r.Key.Day));
        AddText(p, "model", rows.Select(r => r.Key.Model));
        AddLong(p, "tokens_in", rows.Select(r => r.Value.TokensIn));
        AddLong(p, "tokens_out", rows.Select(r => r.Value.TokensOut));
        AddLong(p, "cache_read", rows.Select(r => r.Value.CacheReadTokens));
        AddLong(p, "cache_write", rows.Select(r => r.Value.CacheWriteTokens));
        AddLong(p, "requests", rows.Select(r => r.Value.Requests));
        AddLong(p, "errors", rows.Select(r => r.Value.Errors));
        AddLong(p, "unpriced", rows.Select(r => r.Value.UnpricedRequests));
        AddMoney(p, "cost", rows.Select(r => r.Value.CostUsd));
        AddText(p, "version", rows.Select(r => r.Value.PricingVersion));
        return command;
    }

    private static NpgsqlBatchCommand ActiveUsers(string tenantId, RollupDeltas deltas)
    {
        var rows = deltas.ActiveUsers.ToList();
        var command = new NpgsqlBatchCommand(ActiveUsersSql);
        var p = command.Parameters;
        p.Add(new NpgsqlParameter("tenant", NpgsqlDbType.Text) { Value = tenantId });
        AddDate(p, "day", rows.Select(r => r.Key.Day));
        AddText(p, "user", rows.Select(r => r.Key.User));
        AddTimestamp(p, "first_seen", rows.Select(r => r.Value));
        return command;
    }

    private static NpgsqlBatchCommand Activity(string tenantId, RollupDeltas deltas)
    {
        var rows = deltas.Activity.ToList();
        var command = new NpgsqlBatchCommand(ActivitySql);
        var p = command.Parameters;
        p.Add(new NpgsqlParameter("tenant", NpgsqlDbType.Text) { Value = tenantId });
        AddDate(p, "day", rows.Select(r => r.Key.Day));
        AddText(p, "user", rows.Select(r => r.Key.User));
        AddText(p, "session", rows.Select(r => r.Key.Session));
        AddText(p, "agent", rows.Select(r => r.Key.Agent));
        AddText(p, "channel", rows.Select(r => r.Key.Channel));
        AddText(p, "model", rows.Select(r => r.Key.Model));
        AddText(p, "provider", rows.Select(r => r.Key.Provider));
        AddLong(p, "requests", rows.Select(r => r.Value.Requests));
        AddLong(p, "tokens_in", rows.Select(r => r.Value.TokensIn));
        AddLong(p, "tokens_out", rows.Select(r => r.Value.TokensOut));
        AddMoney(p, "cost", rows.Select(r => r.Value.CostUsd));
        AddLong(p, "errors", rows.Select(r => r.Value.Errors));
        AddLong(p, "unpriced", rows.Select(r => r.Value.UnpricedRequests));
        AddTimestamp(p, "first_ts", rows.Select(r => r.Value.FirstTs));
        AddTimestamp(p, "last_ts", rows.Select(r => r.Value.LastTs));
        AddText(p, "version", rows.Select(r => r.Value.PricingVersion));
        return command;
    }

    private static NpgsqlBatchCommand Errors(string tenantId, RollupDeltas deltas)
    {
        var rows = deltas.Errors.ToList();
        var command = new NpgsqlBatchCommand(ErrorsSql);
        var p = command.Parameters;
        p.Add(new NpgsqlParameter("tenant", NpgsqlDbType.Text) { Value = tenantId });
        AddTimestamp(p, "hour", rows.Select(r => r.Key.Hour));
        AddText(p, "action", rows.Select(r => r.Key.Action));
        AddText(p, "severity", rows.Select(r => r.Key.Severity));
        AddText(p, "error_type", rows.Select(r => r.Key.ErrorType));
        AddText(p, "model", rows.Select(r => r.Key.Model));
        AddText(p, "provider", rows.Select(r => r.Key.Provider));
        AddText(p, "agent", rows.Select(r => r.Key.Agent));
        AddText(p, "channel", rows.Select(r => r.Key.Channel));
        AddLong(p, "errors", rows.Select(r => r.Value));
        return command;
    }

    private static void AddText(NpgsqlParameterCollection parameters, string name, IEnumerable<string?> values) =>
        parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = values.ToArray() });

    private static void AddLong(NpgsqlParameterCollection parameters, string name, IEnumerable<long> values) =>
        parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = values.ToArray() });

    private static void AddMoney(NpgsqlParameterCollection parameters, string name, IEnumerable<decimal> values) =>
        parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Array | NpgsqlDbType.Numeric) { Value = values.ToArray() });

    private static void AddDate(NpgsqlParameterCollection parameters, string name, IEnumerable<DateOnly> values) =>
        parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Array | NpgsqlDbType.Date) { Value = values.ToArray() });

    private static void AddTimestamp(NpgsqlParameterCollection parameters, string name, IEnumerable<DateTimeOffset> values) =>
        parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = values.Select(v => v.UtcDateTime).ToArray() });
}
