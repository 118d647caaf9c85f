using System.Net;
using System.Text.Json.Nodes;
using Ops.Testing;
using Shouldly;
using Xunit;

namespace Ops.Modules.Usage.Tests.Integration;

/// <summary>GET /v1/usage/metrics on <see cref="MetricsData"/>, every number computed by hand.</summary>
public sealed class MetricsTests(OpsTestHost host) : MetricsDataTests(host), IClassFixture<OpsTestHost>
{
    private async Task<JsonNode> Get(string query, TestTenant? tenant = null) =>
        (await (await (tenant ?? Tenant).Read.GetAsync("/v1/usage/metrics" + query)).ShouldHaveStatusAsync(HttpStatusCode.OK))!;

    [Fact]
    public async Task The_last_24_hours_end_with_the_current_hour_and_are_grouped_by_hour()
    {
        var m = await Get("?period=24h");
        var period = m["period"]!;
        (period["name"]!.GetValue<string>(), period["from"]!.GetValue<DateTimeOffset>(), period["to"]!.GetValue<DateTimeOffset>(), period["group_by"]!.GetValue<string>())
            .ShouldBe(("24h", new DateTimeOffset(2026, 5, 17, 13, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 5, 18, 13, 0, 0, TimeSpan.Zero), "hour"));
        var s = m["summary"]!;
        (s["total_requests"]!.GetValue<long>(), s["total_cost_usd"]!.GetValue<decimal>(), s["tokens_in"]!.GetValue<long>(), s["total_tokens"]!.GetValue<long>())
            .ShouldBe((3L, 18.8m, 3_000_000L, 3_000_000L));
        (s["errors"]!.GetValue<long>(), s["active_users"]!.GetValue<long>(), s["active_sessions"]!.GetValue<long>()).ShouldBe((1L, 2L, 2L));
        s["avg_tokens_per_request"]!.GetValue<decimal>().ShouldBe(1_000_000m);
        s["avg_cost_per_request"]!.GetValue<decimal>().ShouldBe(6.26666667m);

        var series = m["time_series"]!.AsArray();
        series.Count.ShouldBe(24);
        series[0]!["timestamp"]!.GetValue<DateTimeOffset>().ShouldBe(new DateTimeOffset(2026, 5, 17, 13, 0, 0, TimeSpan.Zero));
        var busy = series.Where(p => p!["requests"]!.GetValue<long>() > 0)
            .Select(p => (p!["timestamp"]!.GetValue<DateTimeOffset>().UtcDateTime.ToString("MM-dd HH", System.Globalization.CultureInfo.InvariantCulture), p["cost_usd"]!.GetValue<decimal>(), p["errors"]!.GetValue<long>()))
            .ToList();
        busy.ShouldBe([("05-17 23", 0.8m, 0L), ("05-18 02", 15m, 1L), ("05-18 11", 3m, 0L)]);
        series[1]!["p95_latency_ms"].ShouldBeNull("an empty bucket has no p95");
        series[^2]!["p95_latency_ms"]!.GetValue<double>().ShouldBe(1000, 10);
    }

    [Fact]
    public async Task Seven_days_by_day_read_whole_days_and_hour_aligned_edges()
    {
        var m = await Get("?period=7d&group_by=day");
        m["summary"]!["total_cost_usd"]!.GetValue<decimal>().ShouldBe(21.8m, "m1–m4; m5 is at 10:00 on the first day, before 13:00");
        var series = m["time_series"]!.AsArray();
        series.Select(p => p!["cost_usd"]!.GetValue<decimal>()).ShouldBe([0m, 0m, 0m, 0m, 0m, 0m, 3.8m, 18m]);
        series[0]!["timestamp"]!.GetValue<DateTimeOffset>().ShouldBe(new DateTimeOffset(2026, 5, 11, 0, 0, 0, TimeSpan.Zero));
    }

    [Fact]
    public async Task Thirty_days_by_iso_week_with_models_and_providers_by_cost()
    {
        var m = await Get("?period=30d&group_by=week");
        var s = m["summary"]!;
        (s["total_requests"]!.GetValue<long>(), s["total_cost_usd"]!.GetValue<decimal>(), s["tokens_out"]!.GetValue<long>()).ShouldBe((6L, 27.8m, 100_000L));
        s["active_users"]!.GetValue<long>().ShouldBe(5L, "a–e; long windows count users by the UTC days they touch");
        m["time_series"]!.AsArray()
            .Select(p => (p!["timestamp"]!.GetValue<DateTimeOffset>().UtcDateTime.ToString("MM-dd", System.Globalization.CultureInfo.InvariantCulture), p["cost_usd"]!.GetValue<decimal>()))
            .ShouldBe([("04-13", 3m), ("04-20", 0m), ("04-27", 0m), ("05-04", 0m), ("05-11", 6.8m), ("05-18", 18m)]);

        var models = m["by_model"]!.AsArray();
        models.Select(x => (x!["model"]!.GetValue<string>(), x["requests"]!.GetValue<long>(), x["cost_usd"]!.GetValue<decimal>()))
            .ShouldBe([("claude-opus-4-7", 1L, 15m), ("claude-sonnet-4-7", 4L, 12m), ("claude-haiku-4-7", 1L, 0.8m)]);
        var sonnet = models[1]!;
        sonnet["avg_latency_ms"]!.GetValue<double>().ShouldBe(1150); // 1000 + 3 × 1200 (the default) / 4
        sonnet["p95_latency_ms"]!.GetValue<double>().ShouldBe(1200, 12);
        m["by_provider"]!.AsArray().Select(p => (p!["provider"]!.GetValue<string>(), p["requests"]!.GetValue<long>(), p["cost_usd"]!.GetValue<decimal>(), p["tokens"]!.GetValue<long>()))
            .ShouldBe([("anthropic", 6L, 27.8m, 5_600_000L)]);
    }

    [Fact]
    public async Task Filters_narrow_every_figure_and_repeat_or_split_on_commas()
    {
        (await Get("?agent_id=bot-1"))["summary"]!["total_cost_usd"]!.GetValue<decimal>().ShouldBe(6.8m);
        (await Get("?model=claude-opus-4-7&model=claude-haiku-4-7"))["summary"]!["total_requests"]!.GetValue<long>().ShouldBe(2L);
        (await Get("?model=claude-opus-4-7,claude-haiku-4-7&channel=SLACK"))["summary"]!["total_requests"]!.GetValue<long>().ShouldBe(1L);
        (await Get("?provider=openai"))["summary"]!["total_requests"]!.GetValue<long>().ShouldBe(0L);

        var user24h = await Get("?period=24h&user_id=a");
        (user24h["summary"]!["total_cost_usd"]!.GetValue<decimal>(), user24h["summary"]!["active_users"]!.GetValue<long>()).ShouldBe((3.8m, 1L));
        var user30d = await Get("?period=30d&user_id=a,d");
        user30d["summary"]!["total_cost_usd"]!.GetValue<decimal>().ShouldBe(6.8m);
        user30d["by_model"]!.AsArray().Select(x => x!["p95_latency_ms"]).ShouldAllBe(p => p == null);
        (await Get("?period=7d&session_id=s1"))["summary"]!["total_requests"]!.GetValue<long>().ShouldBe(2L);

        var custom = await Get("?period=custom&from=2026-05-17T00:00:00Z&to=2026-05-18T00:00:00Z");
        custom["period"]!["group_by"]!.GetValue<string>().ShouldBe("day");
        custom["time_series"]!.AsArray().Select(p => p!["cost_usd"]!.GetValue<decimal>()).ShouldBe([3.8m]);
        var widened = await Get("?period=custom&from=2026-05-17T12:10:00Z&to=2026-05-17T12:20:00Z");
        widened["period"]!["from"]!.GetValue<DateTimeOffset>().ShouldBe(new DateTimeOffset(2026, 5, 17, 12, 0, 0, TimeSpan.Zero));
        widened["summary"]!["total_cost_usd"]!.GetValue<decimal>().ShouldBe(3m, "m4 at 12:30 is in the widened hour");
    }

    [Fact]
    public async Task AnotherTenant_sees_only_its_own_usage()
    {
        var m = await Get("?period=30d", Other);
        (m["summary"]!["total_requests"]!.GetValue<long>(), m["summary"]!["total_cost_usd"]!.GetValue<decimal>()).ShouldBe((1L, 6m));
    }

    [Theory]
    [InlineData("?period=2d", "period")]
    [InlineData("?group_by=month", "group_by")]
    [InlineData("?period=custom&to=2026-05-18T00:00:00Z", "from")]
    [InlineData("?period=custom&from=2026-05-18T00:00:00Z&to=2026-05-17T00:00:00Z", "to")]
    [InlineData("?period=custom&from=2024-01-01T00:00:00Z&to=2026-05-17T00:00:00Z", "to")]
    [InlineData("?period=30d&from=2026-05-18T00:00:00Z", "from")]
    [InlineData("?period=custom&from=yesterday&to=2026-05-17T00:00:00Z", "from")]
    [InlineData("?period=custom&from=2026-01-01T00:00:00Z&to=2026-05-17T00:00:00Z&group_by=hour", "group_by")]
    [InlineData("?period=7d&group_by=hour&user_id=a", "group_by")]
    public async Task Bad_filters_are_problems_naming_the_parameter(string query, string field) =>
        await (await Tenant.Read.GetAsync("/v1/usage/metrics" + query)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, field);

    [Fact]
    public async Task Ingest_keys_cannot_read_metrics() =>
        (await Tenant.Ingest.GetAsync("/v1/usage/metrics")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
}
