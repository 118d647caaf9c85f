using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Ops.Modules.Audit.Contracts;
using Ops.Testing;
using Shouldly;
using Xunit;

namespace Ops.Modules.Audit.Tests.Api;

/// <summary>
/// A tenant admin's extra patterns and always-redacted fields: validated, audited, and applied on every path in —
/// HTTP ingestion, the in-process <see cref="IAuditWriter"/>, and the <see cref="IRedactor"/> contract the Usage
/// module runs on event metadata — on this instance at once and on another instance through the change feed.
/// </summary>
public sealed class RedactionSettingsTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    private static readonly object Settings = new
    {
        redaction_patterns = new[] { new { name = "ticket", pattern = "TCK-[0-9]{4,}" } },
        redacted_fields = new[] { "prompt", "completion" },
    };

    [Fact]
    public async Task Settings_start_at_the_defaults_and_a_change_is_audited_with_before_and_after()
    {
        var tenant = await host.CreateTenantAsync();
        var initial = (await (await tenant.Read.GetAsync("/v1/settings/audit")).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        initial["retention_days"]!.GetValue<int>().ShouldBe(90);
        initial["retention_is_default"]!.GetValue<bool>().ShouldBeTrue();
        initial["redaction_patterns"]!.AsArray().ShouldBeEmpty();
        initial["operator_redacted_fields"]!.AsArray().Select(f => f!.GetValue<string>()).ShouldContain("password");

        var updated = (await (await tenant.Admin.PutAsJsonAsync("/v1/settings/audit", Settings)).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        updated["redaction_patterns"]![0]!["name"]!.GetValue<string>().ShouldBe("ticket");
        updated["redacted_fields"]!.AsArray().Select(f => f!.GetValue<string>()).ShouldBe(["prompt", "completion"]);
        updated["retention_days"]!.GetValue<int>().ShouldBe(90, "left out, so unchanged");
        updated["updated_by"]!.GetValue<string>().ShouldContain(tenant.AdminKey.Id.ToString());

        var change = (await tenant.Read.ListAllAsync("action=redaction.changed")).Single();
        change["before"]!["redacted_fields"]!.AsArray().ShouldBeEmpty();
        change["after"]!["redacted_fields"]!.AsArray().Select(f => f!.GetValue<string>()).ShouldBe(["prompt", "completion"]);
        change["after"]!["redaction_patterns"]![0]!["pattern"]!.GetValue<string>().ShouldBe("TCK-[0-9]{4,}");

        (await tenant.Admin.PutAsJsonAsync("/v1/settings/audit", Settings)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await tenant.Read.ListAllAsync("action=redaction.changed")).Count.ShouldBe(1, "saving the same settings changes nothing");
        (await tenant.Read.PutAsJsonAsync("/v1/settings/audit", Settings)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    [Theory]
    [InlineData("""{"redaction_patterns":[{"name":"x","pattern":"(?<=a)b"}]}""", "redaction_patterns[0].pattern")]
    [InlineData("""{"redaction_patterns":[{"name":"ok","pattern":"a"},{"name":"y","pattern":"(unclosed"}]}""", "redaction_patterns[1].pattern")]
    [InlineData("""{"redaction_patterns":[{"name":"z","pattern":"a*"}]}""", "redaction_patterns[0].pattern")]
    [InlineData("""{"redaction_patterns":[{"name":"Bad Name","pattern":"a"}]}""", "redaction_patterns[0].name")]
    [InlineData("""{"redaction_patterns":[{"name":"dup","pattern":"a"},{"name":"dup","pattern":"b"}]}""", "redaction_patterns[1].name")]
    [InlineData("""{"redacted_fields":["prompt","request_id"]}""", "redacted_fields[1]")]
    [InlineData("""{"redacted_fields":[""]}""", "redacted_fields[0]")]
    [InlineData("""{"retention_days":0}""", "retention_days")]
    [InlineData("""{"retention_days":3651}""", "retention_days")]
    public async Task Invalid_settings_are_refused_naming_the_field(string body, string field)
    {
        var tenant = await host.CreateTenantAsync();
        var response = await tenant.Admin.PutAsync("/v1/settings/audit", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, field);
        (await tenant.Read.ListAllAsync("action=redaction.changed")).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_lookbehind_is_refused_because_it_cannot_run_in_linear_time()
    {
        var tenant = await host.CreateTenantAsync();
        var response = await tenant.Admin.PutAsJsonAsync("/v1/settings/audit", new { redaction_patterns = new[] { new { name = "x", pattern = "(?<=id:)[0-9]+" } } });
        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "redaction_patterns[0].pattern");
        problem.ToJsonString().ShouldContain("linear time");
    }

    [Fact]
    public async Task The_tenants_rules_apply_over_http_in_process_and_through_the_redactor_contract_and_only_to_that_tenant()
    {
        var tenant = await host.CreateTenantAsync();
        var other = await host.CreateTenantAsync();
        (await tenant.Admin.PutAsJsonAsync("/v1/settings/audit", Settings)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var now = host.Time.GetUtcNow();

        // HTTP ingestion
        object Payload(string requestId) => new { user_id = "u_1", request_id = requestId, action = "chat.reply", prompt = "my card is 4111 1111 1111 1111", note = "see TCK-12345", Completion = "ok" };
        await tenant.Ingest.IngestAsync(Payload("h1"));
        await other.Ingest.IngestAsync(Payload("h1"));

        // The in-process writer (operator actions, the Usage module's per-call events)
        var writer = host.Factory.Services.GetRequiredService<IAuditWriter>();
        await writer.WriteAsync(new AuditEvent
        {
            TenantId = tenant.Id,
            Action = "llm.call",
            Timestamp = now,
            RequestId = "w1",
            UserId = "nei@email.com",
            Details = new JsonObject { ["metadata"] = new JsonObject { ["prompt"] = "secret plans", ["ref"] = "TCK-9999" } },
        }, CancellationToken.None);

        await using var connection = new NpgsqlConnection(host.ConnectionString);
        async Task<JsonNode> Details(string tenantId, string requestId) => JsonNode.Parse(await connection.QuerySingleAsync<string>(
            "SELECT details::text FROM audit.events WHERE tenant_id = @tenantId AND request_id = @requestId", new { tenantId, requestId }))!;

        var http = await Details(tenant.Id, "h1");
        http["prompt"]!.GetValue<string>().ShouldBe("[redacted]");
        http["completion"]!.GetValue<string>().ShouldBe("[redacted]");
        http["note"]!.GetValue<string>().ShouldBe("see [ticket]");

        var untouched = await Details(other.Id, "h1");
        untouched["prompt"]!.GetValue<string>().ShouldBe("my card is [card]", "built-in detectors apply to every tenant");
        untouched["note"]!.GetValue<string>().ShouldBe("see TCK-12345", "another tenant's pattern does not");

        var inProcess = await Details(tenant.Id, "w1");
        inProcess["metadata"]!["prompt"]!.GetValue<string>().ShouldBe("[redacted]");
        inProcess["metadata"]!["ref"]!.GetValue<string>().ShouldBe("[ticket]");
        (await connection.QuerySingleAsync<string>("SELECT user_id FROM audit.events WHERE tenant_id = @tenant AND request_id = 'w1'", new { tenant = tenant.Id }))
            .ShouldMatch(@"^\[email:[0-9a-f]{20}\]$");

        // The contract the Usage module calls on each event's metadata
        var redactor = host.Factory.Services.GetRequiredService<IRedactor>();
        var metadata = JsonNode.Parse("""{"session":"s1","prompt":"hi","contact":"+55 11 98765-4321","refs":["TCK-0001"]}""");
        redactor.Redact(metadata, tenant.Id)!.ToJsonString().ShouldBe("""{"session":"s1","prompt":"[redacted]","contact":"[phone]","refs":["[ticket]"]}""");
        redactor.Redact(metadata, other.Id)!.ToJsonString().ShouldBe("""{"session":"s1","prompt":"hi","contact":"[phone]","refs":["TCK-0001"]}""");
        redactor.RedactText("TCK-4242 by nei@email.com", tenant.Id).ShouldBe("[ticket] by [email]");
    }

    [Fact]
    public async Task Another_instance_applies_a_change_within_a_second()
    {
        var tenant = await host.CreateTenantAsync();
        await using var second = host.CreateSecondInstance();
        var secondRedactor = second.Services.GetRequiredService<IRedactor>();
        secondRedactor.RedactText("TCK-1234", tenant.Id).ShouldBe("TCK-1234");

        (await tenant.Admin.PutAsJsonAsync("/v1/settings/audit", Settings)).StatusCode.ShouldBe(HttpStatusCode.OK);

        var deadline = DateTime.UtcNow.AddSeconds(1);
        while (secondRedactor.RedactText("TCK-1234", tenant.Id) != "[ticket]" && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        secondRedactor.RedactText("TCK-1234", tenant.Id).ShouldBe("[ticket]");
    }
}
