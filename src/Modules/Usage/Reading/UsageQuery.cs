using System.Text;
using Dapper;

namespace Ops.Modules.Usage.Reading;

internal enum TimeGrouping
{
    Hour,
    Day,
    Week,
}

/// <summary>
/// A resolved time range: whole UTC hours [<see cref="From"/>, <see cref="To"/>), grouped by hour, day or ISO week (UTC).
/// </summary>
internal sealed record UsageWindow(string Name, DateTimeOffset From, DateTimeOffset To, TimeGrouping GroupBy)
{
    /// <summary>Windows up to this long may read raw events (the short windows of ADR 0020).</summary>
    public static readonly TimeSpan ShortWindow = TimeSpan.FromHours(48);

    public bool IsShort => To - From <= ShortWindow;

    /// <summary>The first and the last UTC day the window touches.</summary>
    public (DateOnly First, DateOnly Last) Days => (UtcPeriods.Day(From), UtcPeriods.Day(To.AddTicks(-1)));

    /// <summary>The whole UTC days inside the window, [start, end) (empty when start ≥ end).</summary>
    public (DateOnly Start, DateOnly End) WholeDays
    {
        get
        {
            var start = UtcPeriods.Day(From);
            if (UtcPeriods.StartOf(start) < From)
            {
                start = start.AddDays(1);
            }

            return (start, UtcPeriods.Day(To));
        }
    }

    /// <summary>Every bucket start of the window, oldest first (weeks start on Monday, so the first may start before From).</summary>
    public IEnumerable<DateTimeOffset> Buckets()
    {
        var step = GroupBy switch { TimeGrouping.Hour => TimeSpan.FromHours(1), TimeGrouping.Day => TimeSpan.FromDays(1), _ => TimeSpan.FromDays(7) };
        for (var t = BucketOf(From); t < To; t += step)
        {
            yield return t;
        }
    }

    public DateTimeOffset BucketOf(DateTimeOffset at) => GroupBy switch
    {
        TimeGrouping.Hour => UtcPeriods.HourStart(at),
        TimeGrouping.Day => UtcPeriods.StartOf(UtcPeriods.Day(at)),
        _ => UtcPeriods.StartOf(UtcPeriods.Day(at).AddDays(-(((int)UtcPeriods.Day(at).DayOfWeek + 6) % 7))),
    };
}

/// <summary>The multi-valued filters (each empty = any). Channel and provider are compared lower-case, as stored.</summary>
internal sealed record UsageFilters(
    IReadOnlyList<string> Models,
    IReadOnlyList<string> Providers,
    IReadOnlyList<string> AgentIds,
    IReadOnlyList<string> Channels,
    IReadOnlyList<string> SessionIds,
    IReadOnlyList<string> UserIds)
{
    public static readonly UsageFilters None = new([], [], [], [], [], []);

    /// <summary>User and session live only in the day-grained <c>activity_daily</c> (and raw events), not in the dimension rollups.</summary>
    public bool ByUserOrSession => SessionIds.Count > 0 || UserIds.Count > 0;

    public bool Any => ByUserOrSession || Models.Count > 0 || Providers.Count > 0 || AgentIds.Count > 0 || Channels.Count > 0;
}

/// <summary>
/// One metrics question: a tenant, a window and filters, and the SQL that answers it from the rollups (ADR 0020).
/// <see cref="FactsSql"/> is the one row source every metric aggregates: whole UTC days from a day-grained rollup and
/// the partial edge days (rolling windows are hour-aligned) from an hour-grained one, so a window's totals are exact.
/// Rows carry a <c>bucket</c> (the start of their hour/day/week) and the same measures whatever table they come from.
/// </summary>
internal sealed class UsageQuery(string tenantId, UsageWindow window, UsageFilters filters)
{
    public const string FactColumns =
        "bucket, model, provider, agent_id, channel, user_id, session_id, requests, tokens_in, tokens_out, cost_usd, errors, critical_errors, "
        + "unpriced_requests, feedback_up, feedback_down, latency_count, latency_sum_ms, latency_sketch, ttft_count, ttft_sum_ms, ttft_sketch, first_ts, last_ts";

    /// <summary>The measures not kept per user (feedback, latency and TTFT) as zeros, for the per-user row sources.</summary>
    private const string NoPerUserMeasures =
        "0::bigint AS feedback_up, 0::bigint AS feedback_down, 0::bigint AS latency_count, 0::bigint AS latency_sum_ms, '{}'::bigint[] AS latency_sketch, "
        + "0::bigint AS ttft_count, 0::bigint AS ttft_sum_ms, '{}'::bigint[] AS ttft_sketch";

    public string TenantId => tenantId;

    public UsageWindow Window => window;

    public UsageFilters Filters => filters;

    public DynamicParameters Parameters()
    {
        var (dayStart, dayEnd) = window.WholeDays;
        var p = new DynamicParameters();
        p.Add("tenant", tenantId);
        p.Add("from", window.From);
        p.Add("to", window.To);
        p.Add("day_start", dayStart);
        p.Add("day_end", dayEnd);
        p.Add("day_start_ts", UtcPeriods.StartOf(dayStart));
        p.Add("day_end_ts", UtcPeriods.StartOf(dayEnd));
        p.Add("first_day", window.Days.First);
        p.Add("last_day", window.Days.Last);
        var (months, masks) = UtcPeriods.DayMasks(window.Days.First, window.Days.Last);
        p.Add("months", months);
        p.Add("month_masks", masks);
        p.Add("f_model", filters.Models.ToArray());
        p.Add("f_provider", filters.Providers.Select(v => v.ToLowerInvariant()).ToArray());
        p.Add("f_agent", filters.AgentIds.ToArray());
        p.Add("f_channel", filters.Channels.Select(v => v.ToLowerInvariant()).ToArray());
        p.Add("f_session", filters.SessionIds.ToArray());
        p.Add("f_user", filters.UserIds.ToArray());
        return p;
    }

    /// <summary>
    /// The fact rows of the window (columns <see cref="FactColumns"/>). Without user/session filters (and unless
    /// <paramref name="withUsers"/>): <c>daily_rollup</c> + <c>hourly_rollup</c> (every measure; user_id/session_id '').
    /// With them: <c>activity_daily</c> + raw events for the edges (no latency, feedback or critical counts: those are
    /// not kept per user). Hour grouping reads only the hour grain.
    /// </summary>
    /// <param name="userTotalsOnly">
    /// The caller reads only user, model and the request/token/cost/error measures (the top users): whole days may then
    /// come from the seed's <c>usage_daily</c> (one row per user, day and model) instead of <c>activity_daily</c>, which
    /// also splits by session, agent and channel and is several times larger. Not with a provider, agent, channel or
    /// session filter (<c>usage_daily</c> has none of them); <c>provider</c> is '' in its rows.
    /// </param>
    public string FactsSql(bool withUsers = false, bool withAgentAndChannel = false, bool userTotalsOnly = false)
    {
        var users = withUsers || filters.ByUserOrSession;
        var userDays = userTotalsOnly && filters is { Providers.Count: 0, AgentIds.Count: 0, Channels.Count: 0, SessionIds.Count: 0 };
        // The model grain (ADR 0027) holds every measure but no agent/channel: enough unless they are asked or filtered.
        var grain = !withAgentAndChannel && filters.AgentIds.Count == 0 && filters.Channels.Count == 0 ? "_model" : string.Empty;
        var (dayStart, dayEnd) = window.WholeDays;
        var hourly = window.GroupBy == TimeGrouping.Hour || dayStart >= dayEnd;
        var sql = new StringBuilder();
        if (!hourly)
        {
            sql.Append(userDays ? UserDays() : users ? ActivityDays() : RollupDays(grain)).Append("\nUNION ALL\n");
        }

        var range = hourly ? "{0} >= @from AND {0} < @to" : "(({0} >= @from AND {0} < @day_start_ts) OR ({0} >= @day_end_ts AND {0} < @to))";
        sql.Append(users ? RawHours(range) : RollupHours(range, grain));
        return sql.ToString();
    }

    private string DayBucket(string day) => window.GroupBy == TimeGrouping.Week
        ? $"(date_trunc('week', {day}::timestamp) AT TIME ZONE 'UTC')"
        : $"({day}::timestamp AT TIME ZONE 'UTC')";

    private string HourBucket(string hour) => window.GroupBy switch
    {
        TimeGrouping.Hour => $"date_trunc('hour', {hour}, 'UTC')",
        TimeGrouping.Day => $"date_trunc('day', {hour}, 'UTC')",
        _ => $"date_trunc('week', {hour}, 'UTC')",
    };

    /// <summary>Columns agent_id and channel of a rollup of the given grain ('' in the model grain, which has neither).</summary>
    private static string AgentAndChannel(string grain) => grain.Length == 0 ? "agent_id, channel" : "''::text AS agent_id, ''::text AS channel";

    private string RollupDays(string grain) => $"""
        SELECT {DayBucket("day")} AS bucket, model, provider, {AgentAndChannel(grain)}, ''::text AS user_id, ''::text AS session_id, requests, tokens_in, tokens_out,
               cost_usd, errors, critical_errors, unpriced_requests, feedback_up, feedback_down, latency_count, latency_sum_ms, latency_sketch,
               ttft_count, ttft_sum_ms, ttft_sketch, NULL::timestamptz AS first_ts, NULL::timestamptz AS last_ts
        FROM usage.daily{grain}_rollup WHERE tenant_id = @tenant AND day >= @day_start AND day < @day_end{DimensionFilters("")}
        """;

    private string RollupHours(string range, string grain) => $"""
        SELECT {HourBucket("hour")} AS bucket, model, provider, {AgentAndChannel(grain)}, ''::text AS user_id, ''::text AS session_id, requests, tokens_in, tokens_out,
               cost_usd, errors, critical_errors, unpriced_requests, feedback_up, feedback_down, latency_count, latency_sum_ms, latency_sketch,
               ttft_count, ttft_sum_ms, ttft_sketch, NULL::timestamptz AS first_ts, NULL::timestamptz AS last_ts
        FROM usage.hourly{grain}_rollup WHERE tenant_id = @tenant AND {string.Format(System.Globalization.CultureInfo.InvariantCulture, range, "hour")}{DimensionFilters("")}
        """;

    private string ActivityDays() => $"""
        SELECT {DayBucket("day")} AS bucket, model, provider, agent_id, channel, user_id, session_id, requests, tokens_in, tokens_out,
               cost_usd, errors, 0::bigint AS critical_errors, unpriced_requests, {NoPerUserMeasures}, first_ts, last_ts
        FROM usage.activity_daily WHERE tenant_id = @tenant AND day >= @day_start AND day < @day_end{DimensionFilters("")}{UserFilters("")}
        """;

    private string UserDays() => $"""
        SELECT {DayBucket("day")} AS bucket, model, ''::text AS provider, ''::text AS agent_id, ''::text AS channel, user_id, ''::text AS session_id,
               requests, tokens_in, tokens_out, cost_usd, errors, 0::bigint AS critical_errors, unpriced_requests, {NoPerUserMeasures},
               NULL::timestamptz AS first_ts, NULL::timestamptz AS last_ts
        FROM usage.usage_daily WHERE tenant_id = @tenant AND day >= @day_start AND day < @day_end{DimensionFilters("")}{UserFilters("")}
        """;

    private string RawHours(string range) => $"""
        SELECT {HourBucket("ts")} AS bucket, model, provider, coalesce(agent_id, '') AS agent_id, coalesce(channel, '') AS channel, user_id,
               coalesce(session_id, '') AS session_id, 1::bigint AS requests, tokens_in::bigint AS tokens_in, tokens_out::bigint AS tokens_out, cost_usd,
               is_error::int::bigint AS errors, 0::bigint AS critical_errors, unpriced::int::bigint AS unpriced_requests, {NoPerUserMeasures},
               ts AS first_ts, ts AS last_ts
        FROM usage.events WHERE tenant_id = @tenant AND {string.Format(System.Globalization.CultureInfo.InvariantCulture, range, "ts")}{DimensionFilters("")}{UserFilters("")}
        """;

    /// <summary>Model, provider, agent and channel conditions for a table aliased <paramref name="alias"/> ("" for none).</summary>
    public string DimensionFilters(string alias)
    {
        var sql = new StringBuilder();
        Add(sql, alias, "model", "f_model", filters.Models);
        Add(sql, alias, "provider", "f_provider", filters.Providers);
        Add(sql, alias, "agent_id", "f_agent", filters.AgentIds);
        Add(sql, alias, "channel", "f_channel", filters.Channels);
        return sql.ToString();
    }

    public string UserFilters(string alias)
    {
        var sql = new StringBuilder();
        Add(sql, alias, "user_id", "f_user", filters.UserIds);
        Add(sql, alias, "session_id", "f_session", filters.SessionIds);
        return sql.ToString();
    }

    private static void Add(StringBuilder sql, string alias, string column, string parameter, IReadOnlyList<string> values)
    {
        if (values.Count > 0)
        {
            sql.Append(" AND ").Append(alias).Append(column).Append(" = ANY(@").Append(parameter).Append(')');
        }
    }

    /// <summary>
    /// Distinct active users and sessions. Short windows (≤ 48 h) count raw events exactly; longer ones count by UTC day:
    /// a user active on a day the window touches counts. Without filters from the small rollups of ADR 0027 (users: one
    /// <c>user_months</c> row per user and month; sessions: those started on the window's days plus the multi-day ones
    /// started before and still going on its first day); with filters from <c>activity_daily</c>. Columns: users, sessions.
    /// </summary>
    public string ActiveSql() => window.IsShort
        ? $"""
          SELECT count(DISTINCT user_id) AS users, count(DISTINCT session_id) AS sessions
          FROM usage.events WHERE tenant_id = @tenant AND ts >= @from AND ts < @to{DimensionFilters("")}{UserFilters("")}
          """
        : filters.Any
            ? $"""
              SELECT count(DISTINCT user_id) AS users, count(DISTINCT session_id) FILTER (WHERE session_id <> '') AS sessions
              FROM usage.activity_daily WHERE tenant_id = @tenant AND day >= @first_day AND day <= @last_day{DimensionFilters("")}{UserFilters("")}
              """
            : """
              SELECT (SELECT count(*) FROM (SELECT u.user_id FROM unnest(@months, @month_masks) AS m(month, mask)
                      JOIN usage.user_months u ON u.tenant_id = @tenant AND u.month = m.month AND u.active_days & m.mask <> 0
                      GROUP BY u.user_id) AS active) AS users,
                     ((SELECT coalesce(sum(sessions_started), 0) FROM usage.daily_counts
                       WHERE tenant_id = @tenant AND day >= @first_day AND day <= @last_day)
                      + (SELECT count(*) FROM usage.session_spans
                         WHERE tenant_id = @tenant AND last_day > first_day AND last_day >= @first_day AND first_day < @first_day))::bigint AS sessions
              """;
}
