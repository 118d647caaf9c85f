using Dapper;
using Npgsql;
using Ops.Modules.Usage.Sketches;

namespace Ops.Modules.Usage.Reading;

internal sealed record UsageSummary(
    long TotalTokens,
    long TokensIn,
    long TokensOut,
    decimal TotalCostUsd,
    long TotalRequests,
    decimal AvgTokensPerRequest,
    decimal AvgCostPerRequest,
    long Errors,
    long ActiveUsers,
    long ActiveSessions);

internal sealed record TimeSeriesPoint(DateTimeOffset Timestamp, long Tokens, long TokensIn, long TokensOut, decimal CostUsd, long Requests, long Errors, double? P95LatencyMs);

internal sealed record ModelUsage(string Model, string Provider, long Requests, long TokensIn, long TokensOut, decimal CostUsd, double? AvgLatencyMs, double? P95LatencyMs);

internal sealed record ProviderUsage(string Provider, long Tokens, long TokensIn, long TokensOut, decimal CostUsd, long Requests);

internal sealed record UsageMetrics(UsageSummary Summary, IReadOnlyList<TimeSeriesPoint> TimeSeries, IReadOnlyList<ModelUsage> ByModel, IReadOnlyList<ProviderUsage> ByProvider);

/// <summary>
/// Answers <c>GET /v1/usage/metrics</c> (and the stream's summary) from <see cref="UsageQuery.FactsSql"/>: one round
/// trip of aggregations over the rollup rows of the window (a few hundred in the model grain of ADR 0027). The p95s
/// merge the rows' sketches here, per time bucket and per model: reading a few hundred stored arrays costs less than
/// unnesting their buckets into rows in SQL (ADR 0027).
/// </summary>
internal sealed class MetricsReader(NpgsqlDataSource dataSource)
{
    public Task<UsageSummary> SummaryAsync(UsageQuery query, CancellationToken cancellationToken) =>
        BesideActiveAsync(query, async active =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            var totals = await connection.QuerySingleAsync<BucketRow>(new CommandDefinition(SummarySql(query), query.Parameters(), cancellationToken: cancellationToken));
            return Summary(totals, await active);
        }, cancellationToken);

    /// <summary>The distinct counts, on a connection of their own so they run beside the other statements.</summary>
    private async Task<(long Users, long Sessions)> ActiveAsync(UsageQuery query, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleAsync<(long Users, long Sessions)>(new CommandDefinition(query.ActiveSql(), query.Parameters(), cancellationToken: cancellationToken));
    }

    /// <summary>
    /// Runs <paramref name="main"/> while the distinct counts run beside it. If <paramref name="main"/> fails, the
    /// counts are cancelled and awaited before the error goes up: no statement left running, no unobserved exception.
    /// </summary>
    private async Task<T> BesideActiveAsync<T>(UsageQuery query, Func<Task<(long Users, long Sessions)>, Task<T>> main, CancellationToken cancellationToken)
    {
        using var side = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var active = ActiveAsync(query, side.Token);
        try
        {
            return await main(active);
        }
        catch
        {
            await side.CancelAsync();
            await ((Task)active).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            throw;
        }
    }

    public Task<UsageMetrics> MetricsAsync(UsageQuery query, CancellationToken cancellationToken) =>
        BesideActiveAsync(query, active => MetricsAsync(query, active, cancellationToken), cancellationToken);

    private async Task<UsageMetrics> MetricsAsync(UsageQuery query, Task<(long Users, long Sessions)> active, CancellationToken cancellationToken)
    {
        var facts = query.FactsSql();
        var sql = $"""
            {SummarySql(query)};
            WITH f AS ({facts})
            SELECT bucket, coalesce(sum(tokens_in), 0)::bigint AS tokens_in, coalesce(sum(tokens_out), 0)::bigint AS tokens_out,
                   coalesce(sum(cost_usd), 0) AS cost_usd, coalesce(sum(requests), 0)::bigint AS requests, coalesce(sum(errors), 0)::bigint AS errors
            FROM f GROUP BY bucket;
            WITH f AS ({facts})
            SELECT model, provider, sum(requests)::bigint AS requests, sum(tokens_in)::bigint AS tokens_in, sum(tokens_out)::bigint AS tokens_out,
                   sum(cost_usd) AS cost_usd, sum(latency_sum_ms)::bigint AS latency_sum_ms, sum(latency_count)::bigint AS latency_count
            FROM f GROUP BY model, provider;
            WITH f AS ({facts})
            SELECT bucket, model, provider, latency_sketch FROM f WHERE latency_count > 0;
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var results = await connection.QueryMultipleAsync(new CommandDefinition(sql, query.Parameters(), cancellationToken: cancellationToken));
        var totals = await results.ReadSingleAsync<BucketRow>();
        var buckets = (await results.ReadAsync<BucketRow>()).ToDictionary(r => r.Bucket);
        var models = (await results.ReadAsync<ModelRow>()).ToList();
        var bucketSketches = new Dictionary<DateTimeOffset, LatencySketch>();
        var modelSketches = new Dictionary<(string Model, string Provider), LatencySketch>();
        foreach (var row in await results.ReadAsync<SketchRow>())
        {
            var sketch = LatencySketch.FromStored(row.LatencySketch);
            Merged(bucketSketches, row.Bucket).Merge(sketch);
            Merged(modelSketches, (row.Model, row.Provider)).Merge(sketch);
        }

        var bucketP95 = bucketSketches.ToDictionary(p => p.Key, p => p.Value.Quantile(0.95));
        var modelP95 = modelSketches.ToDictionary(p => p.Key, p => p.Value.Quantile(0.95));

        var series = query.Window.Buckets().Select(t =>
        {
            var b = buckets.GetValueOrDefault(t);
            return b is null
                ? new TimeSeriesPoint(t, 0, 0, 0, 0m, 0, 0, null)
                : new TimeSeriesPoint(t, b.TokensIn + b.TokensOut, b.TokensIn, b.TokensOut, Money.Normalize(b.CostUsd), b.Requests, b.Errors, Ms(bucketP95.GetValueOrDefault(t)));
        }).ToList();
        var byModel = models
            .Select(m => new ModelUsage(
                m.Model, m.Provider, m.Requests, m.TokensIn, m.TokensOut, Money.Normalize(m.CostUsd),
                m.LatencyCount == 0 ? null : Math.Round((double)m.LatencySumMs / m.LatencyCount, 1), Ms(modelP95.GetValueOrDefault((m.Model, m.Provider)))))
            .OrderByDescending(m => m.CostUsd).ThenByDescending(m => m.Requests).ThenBy(m => m.Model, StringComparer.Ordinal).ToList();
        var byProvider = models.GroupBy(m => m.Provider, StringComparer.Ordinal)
            .Select(g => new ProviderUsage(
                g.Key, g.Sum(m => m.TokensIn + m.TokensOut), g.Sum(m => m.TokensIn), g.Sum(m => m.TokensOut), Money.Normalize(g.Sum(m => m.CostUsd)), g.Sum(m => m.Requests)))
            .OrderByDescending(p => p.CostUsd).ThenByDescending(p => p.Requests).ThenBy(p => p.Provider, StringComparer.Ordinal).ToList();
        return new UsageMetrics(Summary(totals, await active), series, byModel, byProvider);
    }

    private static string SummarySql(UsageQuery query) => $"""
        WITH f AS ({query.FactsSql()})
        SELECT coalesce(sum(tokens_in), 0)::bigint AS tokens_in, coalesce(sum(tokens_out), 0)::bigint AS tokens_out,
               coalesce(sum(cost_usd), 0) AS cost_usd, coalesce(sum(requests), 0)::bigint AS requests, coalesce(sum(errors), 0)::bigint AS errors
        FROM f
        """;

    private static UsageSummary Summary(BucketRow totals, (long Users, long Sessions) active)
    {
        var tokens = totals.TokensIn + totals.TokensOut;
        var cost = Money.Normalize(totals.CostUsd);
        return new UsageSummary(
            tokens, totals.TokensIn, totals.TokensOut, cost, totals.Requests,
            totals.Requests == 0 ? 0 : decimal.Round((decimal)tokens / totals.Requests, 2),
            totals.Requests == 0 ? 0 : Money.Normalize(decimal.Round(cost / totals.Requests, 8)),
            totals.Errors, active.Users, active.Sessions);
    }

    /// <summary>A sketch quantile, to 0.1 ms (the sketch is within 1 % anyway).</summary>
    public static double? Ms(double? value) => value is { } v ? Math.Round(v, 1) : null;

    private sealed class BucketRow
    {
        public DateTimeOffset Bucket { get; init; }
        public long TokensIn { get; init; }
        public long TokensOut { get; init; }
        public decimal CostUsd { get; init; }
        public long Requests { get; init; }
        public long Errors { get; init; }
    }

    private sealed class ModelRow
    {
        public string Model { get; init; } = string.Empty;
        public string Provider { get; init; } = string.Empty;
        public long Requests { get; init; }
        public long TokensIn { get; init; }
        public long TokensOut { get; init; }
        public decimal CostUsd { get; init; }
        public long LatencySumMs { get; init; }
        public long LatencyCount { get; init; }
    }

    private static LatencySketch Merged<TKey>(Dictionary<TKey, LatencySketch> sketches, TKey key)
        where TKey : notnull
    {
        if (!sketches.TryGetValue(key, out var sketch))
        {
            sketches[key] = sketch = new LatencySketch();
        }

        return sketch;
    }

    private sealed class SketchRow
    {
        public DateTimeOffset Bucket { get; init; }
        public string Model { get; init; } = string.Empty;
        public string Provider { get; init; } = string.Empty;
        public object LatencySketch { get; init; } = DBNull.Value;
    }
}
