using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Ops.Testing;
using Shouldly;
using Xunit;
using static Ops.Modules.Usage.Tests.Integration.EventRequests;
using static Ops.Testing.UsageEvents;

namespace Ops.Modules.Usage.Tests.Integration;

/// <summary>GET /v1/usage/export: every format and level parses back to the metrics' totals; CSV cells cannot run formulas.</summary>
public sealed class ExportTests(OpsTestHost host) : MetricsDataTests(host), IClassFixture<OpsTestHost>
{
    private async Task<(HttpResponseMessage Response, string Body)> Export(string query, TestTenant? tenant = null)
    {
        var response = await (tenant ?? Tenant).Read.GetAsync("/v1/usage/export" + query);
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        return (response, body);
    }

    [Fact]
    public async Task Csv_by_model_totals_equal_the_metrics_and_the_file_is_an_attachment()
    {
        var (response, body) = await Export("?format=csv&level=by_model&period=30d");
        response.Content.Headers.ContentType!.ToString().ShouldBe("text/csv; charset=utf-8");
        response.Content.Headers.ContentDisposition!.DispositionType.ShouldBe("attachment");
        response.Content.Headers.ContentDisposition.FileNameStar.ShouldBe($"usage-{Tenant.Id}-by_model-20260518T120000Z.csv");
        var rows = Csv.Parse(body);
        rows[0].ShouldBe(["model", "provider", "requests", "tokens_in", "tokens_out", "cost_usd", "errors"]);
        rows.Skip(1).Select(r => (r[0], long.Parse(r[2], CultureInfo.InvariantCulture), decimal.Parse(r[5], CultureInfo.InvariantCulture)))
            .ShouldBe([("claude-opus-4-7", 1L, 15m), ("claude-sonnet-4-7", 4L, 12m), ("claude-haiku-4-7", 1L, 0.8m)]);

        var audit = (await (await Tenant.Admin.GetAsync("/v1/audit/events?action=export.downloaded")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray();
        audit.ShouldContain(e => e!["target"]!.GetValue<string>() == "usage:by_model");
    }

    [Fact]
    public async Task Json_events_are_the_periods_raw_events_oldest_first()
    {
        var (response, body) = await Export("?format=json&level=events&period=30d");
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/json");
        var events = JsonNode.Parse(body)!.AsArray();
        events.Select(e => e!["request_id"]!.GetValue<string>()).ShouldBe(["m6", "m5", "m4", "m3", "m2", "m1"]);
        events.Sum(e => e!["cost_usd"]!.GetValue<decimal>()).ShouldBe(27.8m);
        events[4]!["status"]!.GetValue<string>().ShouldBe("error");
        events[0]!["ts"]!.GetValue<DateTimeOffset>().ShouldBe(MetricsData.M6);
        events[2]!["agent_id"].ShouldBeNull();
    }

    [Fact]
    public async Task Ndjson_daily_rows_add_up_to_the_metrics_of_the_same_whole_days()
    {
        const string Days = "period=custom&from=2026-05-17T00:00:00Z&to=2026-05-19T00:00:00Z";
        var (response, body) = await Export($"?format=ndjson&level=daily&{Days}");
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/x-ndjson");
        var rows = body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        rows.Select(r => (r["day"]!.GetValue<string>(), r["user_id"]!.GetValue<string>(), r["model"]!.GetValue<string>())).ShouldBe([
            ("2026-05-17", "a", "claude-haiku-4-7"), ("2026-05-17", "c", "claude-sonnet-4-7"),
            ("2026-05-18", "a", "claude-sonnet-4-7"), ("2026-05-18", "b", "claude-opus-4-7"),
        ]);
        var metrics = (await (await Tenant.Read.GetAsync($"/v1/usage/metrics?{Days}")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["summary"]!;
        rows.Sum(r => r["cost_usd"]!.GetValue<decimal>()).ShouldBe(metrics["total_cost_usd"]!.GetValue<decimal>());
        rows.Sum(r => r["requests"]!.GetValue<long>()).ShouldBe(metrics["total_requests"]!.GetValue<long>());
        rows.Sum(r => r["tokens_in"]!.GetValue<long>()).ShouldBe(metrics["tokens_in"]!.GetValue<long>());

        var (_, filtered) = await Export($"?format=ndjson&level=daily&{Days}&user_id=a");
        filtered.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length.ShouldBe(2);
    }

    [Fact]
    public async Task Csv_cells_that_would_run_a_formula_are_neutralised_andOtherTenants_rows_never_appear()
    {
        var tenant = await Host.CreateTenantAsync();
        var at = OpsTestHost.Epoch.AddMinutes(-20);
        (await tenant.Ingest.PostEventsAsync([
            Event("=HYPERLINK(\"http://evil\",\"x\")", at, new { user_id = "+1-555", action = "@SUM(A1)", session_id = "-2+3", agent_id = "a,b \"q\"" }),
        ])).StatusCode.ShouldBe(HttpStatusCode.OK);
        var (_, body) = await Export("?format=csv&level=events&period=24h", tenant);
        var rows = Csv.Parse(body);
        rows.Count.ShouldBe(2, "the header and the tenant's one event");
        var row = rows[1];
        string Cell(string column) => row[rows[0].IndexOf(column)];
        Cell("request_id").ShouldBe("'=HYPERLINK(\"http://evil\",\"x\")");
        Cell("user_id").ShouldBe("'+1-555");
        Cell("action").ShouldBe("'@SUM(A1)");
        Cell("session_id").ShouldBe("'-2+3");
        Cell("agent_id").ShouldBe("a,b \"q\"");
        body.ShouldContain("\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\"", Case.Sensitive, "quoted per RFC 4180");
    }

    [Theory]
    [InlineData("?format=xlsx", "format")]
    [InlineData("?level=hourly", "level")]
    [InlineData("?period=forever", "period")]
    public async Task Bad_parameters_are_problems_naming_them(string query, string field) =>
        await (await Tenant.Read.GetAsync("/v1/usage/export" + query)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, field);

    [Fact]
    public async Task Exports_need_role_read() =>
        (await Tenant.Ingest.GetAsync("/v1/usage/export")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);

    /// <summary>An RFC 4180 reader (quoted cells, doubled quotes, CRLF rows).</summary>
    private static class Csv
    {
        public static List<List<string>> Parse(string text)
        {
            var rows = new List<List<string>>();
            var row = new List<string>();
            var cell = new StringBuilder();
            var quoted = false;
            for (var i = 0; i < text.Length; i++)
            {
                var c = text[i];
                if (quoted)
                {
                    if (c == '"' && i + 1 < text.Length && text[i + 1] == '"')
                    {
                        cell.Append('"');
                        i++;
                    }
                    else if (c == '"')
                    {
                        quoted = false;
                    }
                    else
                    {
                        cell.Append(c);
                    }
                }
                else if (c == '"')
                {
                    quoted = true;
                }
                else if (c == ',')
                {
                    row.Add(cell.ToString());
                    cell.Clear();
                }
                else if (c == '\n')
                {
                    row.Add(cell.ToString().TrimEnd('\r'));
                    cell.Clear();
                    rows.Add(row);
                    row = [];
                }
                else
                {
                    cell.Append(c);
                }
            }

            return rows;
        }
    }
}
