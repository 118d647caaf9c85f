using Ops.Modules.Usage.Sketches;

namespace Ops.Modules.Usage.Ingestion;

/// <summary>
/// What one batch of newly stored events adds to each rollup, aggregated in memory so each rollup row is upserted
/// once per batch (set-based). Optional dimensions become '' (the rollups' "none").
/// </summary>
internal sealed class RollupDeltas
{
    public Dictionary<(DateTimeOffset Hour, string Model, string Provider, string Agent, string Channel), MeasureDelta> Hourly { get; } = [];

    public Dictionary<(DateOnly Day, string Model, string Provider, string Agent, string Channel), MeasureDelta> Daily { get; } = [];

    public Dictionary<(string User, DateOnly Day, string Model), UserDayDelta> UsageDaily { get; } = [];

    public Dictionary<(DateOnly Day, string User), DateTimeOffset> ActiveUsers { get; } = [];

    public Dictionary<(DateOnly Day, string User, string Session, string Agent, string Channel, string Model, string Provider), ActivityDelta> Activity { get; } = [];

    public Dictionary<(DateTimeOffset Hour, string Action, string Severity, string ErrorType, string Model, string Provider, string Agent, string Channel), long> Errors { get; } = [];

    public static RollupDeltas From(IReadOnlyList<UsageEvent> events)
    {
        var deltas = new RollupDeltas();
        foreach (var e in events)
        {
            var agent = e.AgentId ?? string.Empty;
            var channel = e.Channel ?? string.Empty;
            var day = e.Day;
            var hour = e.Hour;

            Measure(deltas.Hourly, (hour, e.Model, e.Provider, agent, channel)).Add(e);
            Measure(deltas.Daily, (day, e.Model, e.Provider, agent, channel)).Add(e);

            var userKey = (e.UserId, day, e.Model);
            if (!deltas.UsageDaily.TryGetValue(userKey, out var user))
            {
                deltas.UsageDaily[userKey] = user = new UserDayDelta { PricingVersion = e.PricingVersion };
            }

            user.Add(e);

            var activeKey = (day, e.UserId);
            if (!deltas.ActiveUsers.TryGetValue(activeKey, out var firstSeen) || e.Timestamp < firstSeen)
            {
                deltas.ActiveUsers[activeKey] = e.Timestamp;
            }

            var activityKey = (day, e.UserId, e.SessionId ?? string.Empty, agent, channel, e.Model, e.Provider);
            if (!deltas.Activity.TryGetValue(activityKey, out var activity))
            {
                deltas.Activity[activityKey] = activity = new ActivityDelta { PricingVersion = e.PricingVersion, FirstTs = e.Timestamp, LastTs = e.Timestamp };
            }

            activity.Add(e);

            if (e.IsError)
            {
                var errorKey = (hour, e.Action, e.Severity ?? string.Empty, e.ErrorType ?? string.Empty, e.Model, e.Provider, agent, channel);
                deltas.Errors[errorKey] = deltas.Errors.GetValueOrDefault(errorKey) + 1;
            }
        }

        return deltas;
    }

    private static MeasureDelta Measure<TKey>(Dictionary<TKey, MeasureDelta> rows, TKey key)
        where TKey : notnull
    {
        if (!rows.TryGetValue(key, out var delta))
        {
            rows[key] = delta = new MeasureDelta();
        }

        return delta;
    }
}

/// <summary>The measures of the hourly and daily rollups.</summary>
internal sealed class MeasureDelta
{
    public long Requests { get; set; }
    public long TokensIn { get; set; }
    public long TokensOut { get; set; }
    public long CacheReadTokens { get; set; }
    public long CacheWriteTokens { get; set; }
    public decimal CostUsd { get; set; }
    public decimal ReportedCostUsd { get; set; }
    public long UnpricedRequests { get; set; }
    public long Errors { get; set; }
    public long CriticalErrors { get; set; }
    public long FeedbackUp { get; set; }
    public long FeedbackDown { get; set; }
    public long LatencySumMs { get; set; }
    public long TtftSumMs { get; set; }
    public LatencySketch Latency { get; } = new();
    public LatencySketch Ttft { get; } = new();
    public string? PricingVersion { get; set; }

    public void Add(UsageEvent e)
    {
        Requests++;
        TokensIn += e.TokensIn;
        TokensOut += e.TokensOut;
        CacheReadTokens += e.CacheReadTokens;
        CacheWriteTokens += e.CacheWriteTokens;
        CostUsd += e.CostUsd;
        ReportedCostUsd += e.ReportedCostUsd ?? 0;
        UnpricedRequests += e.Unpriced ? 1 : 0;
        Errors += e.IsError ? 1 : 0;
        CriticalErrors += e.IsCriticalError ? 1 : 0;
        FeedbackUp += e.Feedback == Ratings.Up ? 1 : 0;
        FeedbackDown += e.Feedback == Ratings.Down ? 1 : 0;
        if (e.LatencyMs is { } latency)
        {
            LatencySumMs += latency;
            Latency.Add(latency);
        }

        if (e.TtftMs is { } ttft)
        {
            TtftSumMs += ttft;
            Ttft.Add(ttft);
        }

        // One (tenant, day, model) has one pricing version (ADR 0022), so any event's version is the row's.
        PricingVersion ??= e.PricingVersion;
    }
}

internal sealed class UserDayDelta
{
    public long TokensIn { get; private set; }
    public long TokensOut { get; private set; }
    public long CacheReadTokens { get; private set; }
    public long CacheWriteTokens { get; private set; }
    public long Requests { get; private set; }
    public long Errors { get; private set; }
    public long UnpricedRequests { get; private set; }
    public decimal CostUsd { get; private set; }
    public string? PricingVersion { get; init; }

    public void Add(UsageEvent e)
    {
        TokensIn += e.TokensIn;
        TokensOut += e.TokensOut;
        CacheReadTokens += e.CacheReadTokens;
        CacheWriteTokens += e.CacheWriteTokens;
        Requests++;
        Errors += e.IsError ? 1 : 0;
        UnpricedRequests += e.Unpriced ? 1 : 0;
        CostUsd += e.CostUsd;
    }
}

internal sealed class ActivityDelta
{
    public long Requests { get; private set; }
    public long TokensIn { get; private set; }
    public long TokensOut { get; private set; }
    public decimal CostUsd { get; private set; }
    public long Errors { get; private set; }
    public long UnpricedRequests { get; private set; }
    public DateTimeOffset FirstTs { get; set; }
    public DateTimeOffset LastTs { get; set; }
    public string? PricingVersion { get; init; }

    public void Add(UsageEvent e)
    {
        Requests++;
        TokensIn += e.TokensIn;
        TokensOut += e.TokensOut;
        CostUsd += e.CostUsd;
        Errors += e.IsError ? 1 : 0;
        UnpricedRequests += e.Unpriced ? 1 : 0;
        FirstTs = e.Timestamp < FirstTs ? e.Timestamp : FirstTs;
        LastTs = e.Timestamp > LastTs ? e.Timestamp : LastTs;
    }
}
