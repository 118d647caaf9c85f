using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using Npgsql;
using Ops.Testing;
using Shouldly;
using Xunit;

namespace Ops.Modules.Audit.Tests.Api;

public sealed class IngestTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    [Fact]
    public async Task The_seeds_audit_line_goes_in_as_is_and_comes_back_out_of_the_export_as_the_same_line()
    {
        var tenant = await host.CreateTenantAsync();
        var seedTime = new DateTimeOffset(2026, 5, 18, 15, 0, 0, TimeSpan.Zero);
        if (host.Time.GetUtcNow() < seedTime)
        {
            host.Time.SetUtcNow(seedTime); // the line's ts (14:23:11) must not be in the future
        }

        var result = (await (await tenant.Ingest.PostRawAsync(AuditClient.SeedLine)).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        result["accepted"]!.GetValue<int>().ShouldBe(1);

        var lines = await tenant.Read.ExportNdjsonAsync("action=chat.reply");
        lines.Count.ShouldBe(1);
        var expected = JsonNode.Parse(AuditClient.SeedLine)!.AsObject();
        lines[0].Select(p => p.Key).Order().ShouldBe(expected.Select(p => p.Key).Order());
        foreach (var (name, value) in expected)
        {
            lines[0][name]!.ToJsonString().ShouldBe(value!.ToJsonString(), name);
        }
    }

    [Fact]
    public async Task A_batch_with_invalid_events_stores_the_valid_ones_and_names_each_error_by_index_and_field()
    {
        var tenant = await host.CreateTenantAsync();
        var now = host.Time.GetUtcNow();
        var body = new object[]
        {
            AuditClient.Event("r1", now.AddMinutes(-1)),
            new { user_id = "u_1", action = "chat.reply" },
            new { user_id = "u_1", request_id = "r3", action = "chat reply!", tokens_in = -1 },
            AuditClient.Event("r4", now.AddMinutes(-2)),
            new { ts = "2026-05-18 10:00", user_id = "u_1", request_id = "r5", action = "a" },
            new { ts = now.AddHours(1), user_id = "u_1", request_id = "r6", action = "a" },
            new { ts = now.AddDays(-91), user_id = "u_1", request_id = "r7", action = "a" },
            new { user_id = 7, request_id = "r8", action = "a", cost_usd = "cheap", latency_ms = -3, model = 4 },
            new { user_id = "u_1", request_id = "r9", action = "a", tenant_id = "someone-else" },
            "not an object",
        };
        var result = (await (await tenant.Ingest.PostEventsAsync(body)).ShouldHaveStatusAsync(HttpStatusCode.OK))!;

        result["accepted"]!.GetValue<int>().ShouldBe(2);
        result["rejected"]!.GetValue<int>().ShouldBe(8);
        var errors = result["errors"]!.AsArray().Select(e => $"{e!["index"]}:{e["field"]?.GetValue<string>()}").ToList();
        errors.ShouldBe(
        [
            "1:request_id",
            "2:action", "2:tokens_in",
            "4:ts",
            "5:ts",
            "6:ts",
            "7:user_id", "7:cost_usd", "7:latency_ms", "7:model",
            "8:tenant_id",
            "9:",
        ],
        ignoreOrder: true);

        var stored = await tenant.Read.ListAllAsync("action=chat.reply");
        stored.Select(e => e["request_id"]!.GetValue<string>()).Order().ShouldBe(["r1", "r4"]);
    }

    [Fact]
    public async Task Ndjson_lines_are_events_and_a_broken_line_is_reported_at_its_index()
    {
        var tenant = await host.CreateTenantAsync();
        var body = """
            {"user_id":"u_1","request_id":"n1","action":"tool.call"}
            {"user_id":"u_1","request_id":"n2",
            {"user_id":"u_2","request_id":"n3","action":"tool.call","tool":"search"}

            """;
        var result = (await (await tenant.Ingest.PostRawAsync(body, "application/x-ndjson")).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        result["accepted"]!.GetValue<int>().ShouldBe(2);
        result["errors"]!.AsArray().Single()!["index"]!.GetValue<int>().ShouldBe(1);

        var events = await tenant.Read.ListAllAsync("action=tool.call");
        events.Single(e => e["request_id"]!.GetValue<string>() == "n3")["tool"]!.GetValue<string>().ShouldBe("search");
        events.ShouldAllBe(e => e["ts"]!.GetValue<DateTime>() == host.Time.GetUtcNow().UtcDateTime);
    }

    [Fact]
    public async Task A_retry_is_a_duplicate_never_a_second_event()
    {
        var tenant = await host.CreateTenantAsync();
        var now = host.Time.GetUtcNow();
        var batch = new[] { AuditClient.Event("d1", now), AuditClient.Event("d2", now), AuditClient.Event("d1", now), AuditClient.Event("d1", now, action: "tool.call") };

        var first = await tenant.Ingest.IngestAsync(batch);
        first["accepted"]!.GetValue<int>().ShouldBe(3);
        first["duplicate_indexes"]!.AsArray().Select(i => i!.GetValue<int>()).ShouldBe([2]);

        var retry = await tenant.Ingest.IngestAsync(batch);
        retry["accepted"]!.GetValue<int>().ShouldBe(0);
        retry["duplicates"]!.GetValue<int>().ShouldBe(4);

        (await tenant.Read.ListAllAsync("request_id=d1")).Count.ShouldBe(2);
        (await tenant.Read.ListAllAsync("request_id=d2")).Count.ShouldBe(1);
    }

    [Fact]
    public async Task A_batch_overlapping_stored_keys_stores_only_the_new_ones()
    {
        var tenant = await host.CreateTenantAsync();
        var now = host.Time.GetUtcNow();
        (await tenant.Ingest.IngestAsync(new[] { AuditClient.Event("c2", now), AuditClient.Event("c1", now), AuditClient.Event("c3", now, action: "tool.call") }))
            ["accepted"]!.GetValue<int>().ShouldBe(3);
        // c1 is stored: only c4 is new.
        var overlapping = await tenant.Ingest.IngestAsync(new[] { AuditClient.Event("c4", now), AuditClient.Event("c1", now) });
        overlapping["accepted"]!.GetValue<int>().ShouldBe(1);
        overlapping["duplicate_indexes"]!.AsArray().Select(i => i!.GetValue<int>()).ShouldBe([1]);

        var stored = (await tenant.Read.ListAllAsync()).Where(e => e["request_id"] is not null); // not the tenant's key.created actions
        stored.Select(e => e["request_id"]!.GetValue<string>()).Order(StringComparer.Ordinal).ShouldBe(["c1", "c2", "c3", "c4"]);
    }

    [Fact]
    public async Task A_usage_call_whose_audit_key_is_already_stored_still_commits_and_is_audited_once()
    {
        var tenant = await host.CreateTenantAsync();
        var now = host.Time.GetUtcNow();
        (await tenant.Ingest.IngestAsync(new[] { AuditClient.Event("u1", now, action: "llm.call") }))["accepted"]!.GetValue<int>().ShouldBe(1);

        var usage = await UsageEvents.PostEventsAsync(tenant.Ingest, [UsageEvents.Event("u1", now), UsageEvents.Event("u2", now)]);
        var body = (await usage.ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        body["accepted"]!.GetValue<int>().ShouldBe(2, "the usage events commit; only the audit write of u1 is skipped");

        (await tenant.Read.ListAllAsync("request_id=u1")).Count.ShouldBe(1);
        (await tenant.Read.ListAllAsync("request_id=u2")).Single()["action"]!.GetValue<string>().ShouldBe("llm.call");
    }

    [Fact]
    public async Task A_batch_where_every_event_is_invalid_is_a_400_naming_each_field()
    {
        var tenant = await host.CreateTenantAsync();
        var response = await tenant.Ingest.PostEventsAsync(new object[] { new { action = "a", request_id = "x" }, new { user_id = "u", request_id = "y" } });
        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "[0].user_id");
        problem["errors"]!.AsArray().Select(e => e!["name"]!.GetValue<string>()).ShouldContain("[1].action");
    }

    [Fact]
    public async Task Bodies_that_are_not_json_or_empty_are_rejected_as_a_whole()
    {
        var tenant = await host.CreateTenantAsync();
        await (await tenant.Ingest.PostRawAsync("{not json")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "body");
        await (await tenant.Ingest.PostRawAsync("   ")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "body");
        await (await tenant.Ingest.PostRawAsync("42")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "body");
    }

    [Fact]
    public async Task Only_ingest_keys_write_and_only_read_keys_read()
    {
        var tenant = await host.CreateTenantAsync();
        (await tenant.Read.PostRawAsync(AuditClient.SeedLine)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await tenant.Admin.PostRawAsync(AuditClient.SeedLine)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await tenant.Ingest.GetAsync("/v1/audit/events")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await tenant.Ingest.GetAsync("/v1/audit/export")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await host.CreateClient().PostRawAsync(AuditClient.SeedLine)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Personal_data_sent_over_http_never_reaches_the_table()
    {
        var tenant = await host.CreateTenantAsync();
        var body = new
        {
            user_id = "nei@email.com",
            request_id = "p1",
            action = "chat.reply",
            status = "ok",
            message = "my CPF is 529.982.247-25, call me at +55 11 98765-4321",
            context = new { ip = "192.168.0.10", card = new[] { "4111 1111 1111 1111" }, password = "hunter2" },
            headers = new Dictionary<string, string> { ["Authorization"] = "Bearer sk-proj-abc123DEF456ghi789JKL" },
        };
        await tenant.Ingest.IngestAsync(body);

        await using var connection = new NpgsqlConnection(host.ConnectionString);
        var row = await connection.QuerySingleAsync<(string UserId, string Details)>(
            "SELECT user_id, details::text FROM audit.events WHERE tenant_id = @tenant AND request_id = 'p1'", new { tenant = tenant.Id });
        // An identifier keeps its identity as a keyed pseudonym: distinct, stable, and not the address.
        row.UserId.ShouldMatch(@"^\[email:[0-9a-f]{20}\]$");
        foreach (var secret in new[] { "nei@", "529.982", "98765", "192.168", "4111", "hunter2", "sk-proj" })
        {
            row.Details.ShouldNotContain(secret);
        }

        var details = JsonNode.Parse(row.Details)!;
        details["message"]!.GetValue<string>().ShouldBe("my CPF is [cpf], call me at [phone]");
        details["context"]!["password"]!.GetValue<string>().ShouldBe("[redacted]");
        details["headers"]!["Authorization"]!.GetValue<string>().ShouldBe("[redacted]");
    }

    [Fact]
    public async Task Stored_events_cannot_be_rewritten_even_in_sql()
    {
        var tenant = await host.CreateTenantAsync();
        await tenant.Ingest.IngestAsync(AuditClient.Event("u1", host.Time.GetUtcNow()));
        (await tenant.Ingest.PostAsync("/v1/audit/events/u1", null)).StatusCode.ShouldBe(HttpStatusCode.NotFound, "there is no update route");

        await using var connection = new NpgsqlConnection(host.ConnectionString);
        var update = await Should.ThrowAsync<PostgresException>(() => connection.ExecuteAsync(
            "UPDATE audit.events SET status = 'tampered' WHERE tenant_id = @tenant", new { tenant = tenant.Id }));
        update.MessageText.ShouldContain("append-only");
        (await tenant.Read.ListAllAsync("request_id=u1")).Single()["status"]!.GetValue<string>().ShouldBe("ok");
    }
}
