using System.Net;
using Ops.Testing;
using Shouldly;
using Xunit;

namespace Ops.Modules.Audit.Tests.Api;

/// <summary>Exports read in small keyset batches here, so a few hundred events cross many batch boundaries.</summary>
public sealed class SmallBatchHost : OpsTestHost
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Modules:Audit:ExportBatchSize"] = "100",
        ["Modules:Audit:MaxBatchEvents"] = "500",
        ["Modules:Audit:MaxBatchBytes"] = "200000",
        ["Modules:Audit:MaxExtraFieldsBytes"] = "300",
    };
}

public sealed class ExportTests(SmallBatchHost host) : IClassFixture<SmallBatchHost>
{
    [Fact]
    public async Task Ndjson_export_streams_every_event_once_oldest_first_as_an_attachment()
    {
        var tenant = await host.CreateTenantAsync();
        var now = host.Time.GetUtcNow();
        var ids = Enumerable.Range(0, 350).Select(i => $"e{i:000}").ToList();
        foreach (var chunk in ids.Chunk(175))
        {
            await tenant.Ingest.IngestAsync(chunk.Select(id => AuditClient.Event(id, now.AddSeconds(-int.Parse(id[1..], System.Globalization.CultureInfo.InvariantCulture) / 3))).ToArray());
        }

        var response = await tenant.Read.GetAsync("/v1/audit/export?format=ndjson&action=chat.reply");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/x-ndjson");
        response.Content.Headers.ContentDisposition!.DispositionType.ShouldBe("attachment");
        response.Content.Headers.ContentDisposition.FileNameStar.ShouldEndWith(".ndjson");

        var lines = await tenant.Read.ExportNdjsonAsync("action=chat.reply");
        lines.Select(l => l["request_id"]!.GetValue<string>()).Order().ShouldBe(ids);
        var times = lines.Select(l => l["ts"]!.GetValue<DateTime>()).ToList();
        times.ShouldBe(times.Order().ToList());
    }

    [Fact]
    public async Task Csv_export_has_the_seed_columns_and_neutralises_formulas()
    {
        var tenant = await host.CreateTenantAsync();
        var now = host.Time.GetUtcNow();
        await tenant.Ingest.IngestAsync(new object[]
        {
            new { ts = now, user_id = "=HYPERLINK(\"http://evil\",\"x\")", request_id = "x1", action = "chat.reply", status = "ok", model = "claude-opus-4-7", tokens_in = 412, cost_usd = 0.0042, note = "a, \"quoted\"\nline" },
            new { ts = now.AddSeconds(1), user_id = "+cmd", request_id = "x2", action = "chat.reply", status = "@SUM(A1)", model = "-2+3" },
        });

        var response = await tenant.Read.GetAsync("/v1/audit/export?format=csv&action=chat.reply");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("text/csv");
        response.Content.Headers.ContentDisposition!.FileNameStar.ShouldEndWith(".csv");
        var text = await response.Content.ReadAsStringAsync();
        var lines = text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        lines[0].ShouldBe("ts,action,user_id,request_id,status,actor,model,tokens_in,tokens_out,cost_usd,latency_ms,details");
        lines[1].ShouldStartWith("2026-05-18T");
        lines[1].ShouldContain(",chat.reply,\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\",x1,ok,,claude-opus-4-7,412,,0.0042,,");
        lines[1].ShouldContain("\"{\"\"note\"\":\"\"a, \\\"\"quoted\\\"\"\\nline\"\"}\"");
        lines[2].ShouldContain(",chat.reply,'+cmd,x2,'@SUM(A1),,'-2+3,,,,,");
    }

    [Fact]
    public async Task Downloading_an_export_is_an_audited_operator_action()
    {
        var tenant = await host.CreateTenantAsync();
        (await tenant.Read.GetAsync("/v1/audit/export?format=csv&user_id=u_9")).StatusCode.ShouldBe(HttpStatusCode.OK);

        var downloaded = (await tenant.Read.ListAllAsync("action=export.downloaded")).Single();
        downloaded["actor"]!.GetValue<string>().ShouldContain(tenant.ReadKey.Id.ToString());
        downloaded["after"]!["format"]!.GetValue<string>().ShouldBe("csv");
        downloaded["after"]!["user_id"]!.GetValue<string>().ShouldBe("u_9");
    }

    [Fact]
    public async Task Bad_export_parameters_are_named()
    {
        var tenant = await host.CreateTenantAsync();
        await (await tenant.Read.GetAsync("/v1/audit/export?format=xml")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "format");
        await (await tenant.Read.GetAsync("/v1/audit/export?from=2026-05-18T12:00:00Z&to=2026-05-01T00:00:00Z")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "to");
    }

    [Fact]
    public async Task Caps_on_batch_size_event_count_and_extra_fields_are_enforced()
    {
        var tenant = await host.CreateTenantAsync();
        var now = host.Time.GetUtcNow();
        await (await tenant.Ingest.PostEventsAsync(Enumerable.Range(0, 501).Select(i => AuditClient.Event($"cap{i}", now)).ToArray()))
            .ShouldBeProblemAsync(HttpStatusCode.RequestEntityTooLarge, "body");
        await (await tenant.Ingest.PostRawAsync("[" + string.Join(',', Enumerable.Repeat(AuditClient.SeedLine, 1000)) + "]"))
            .ShouldBeProblemAsync(HttpStatusCode.RequestEntityTooLarge, "body");

        var result = (await (await tenant.Ingest.PostEventsAsync(new object[]
        {
            new { user_id = "u", request_id = "big", action = "a", small = "x", blob = new string('z', 400) },
            new { user_id = "u", request_id = "ok", action = "a", small = "x" },
        })).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        result["accepted"]!.GetValue<int>().ShouldBe(1);
        var error = result["errors"]!.AsArray().Single()!;
        error["index"]!.GetValue<int>().ShouldBe(0);
        error["field"]!.GetValue<string>().ShouldBe("blob");
    }
}
