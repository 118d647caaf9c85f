using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Npgsql;
using Ops.Testing;
using Shouldly;
using Xunit;

namespace Ops.Modules.Audit.Tests.Api;

/// <summary>
/// Identifiers with personal data in them are stored as keyed pseudonyms: the data never reaches the table, yet two
/// different identifiers never collapse into one (which would drop events as duplicates), and filters still work.
/// </summary>
public sealed class IdentifierPseudonymTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    [Fact]
    public async Task Request_ids_that_differ_only_in_personal_data_are_both_kept_and_a_retry_is_still_a_duplicate()
    {
        var tenant = await host.CreateTenantAsync();
        // Both ids are valid CPFs: a plain "[cpf]" marker would make them equal.
        object[] events =
        [
            new { user_id = "u_1", request_id = "52998224725", action = "chat.reply" },
            new { user_id = "u_1", request_id = "11144477735", action = "chat.reply" },
        ];
        var first = (await (await tenant.Ingest.PostAsJsonAsync("/v1/audit/events", events)).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        first["accepted"]!.GetValue<int>().ShouldBe(2);
        var retry = (await (await tenant.Ingest.PostAsJsonAsync("/v1/audit/events", events)).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        retry["duplicates"]!.GetValue<int>().ShouldBe(2);

        await using var connection = new NpgsqlConnection(host.ConnectionString);
        var stored = (await connection.QueryAsync<string>(
            "SELECT request_id FROM audit.events WHERE tenant_id = @tenant AND action = 'chat.reply' ORDER BY request_id", new { tenant = tenant.Id })).ToList();
        stored.Count.ShouldBe(2);
        stored.Distinct().Count().ShouldBe(2);
        stored.ShouldAllBe(id => id.StartsWith("[cpf:") && !id.Contains("52998224725") && !id.Contains("11144477735"));
    }

    [Fact]
    public async Task A_user_whose_id_is_an_email_is_found_by_that_email_or_by_its_pseudonym()
    {
        var tenant = await host.CreateTenantAsync();
        await tenant.Ingest.PostAsJsonAsync("/v1/audit/events", new object[]
        {
            new { user_id = "nei@email.com", request_id = "a1", action = "chat.reply" },
            new { user_id = "ana@email.com", request_id = "a2", action = "chat.reply" },
            new { user_id = "nei@email.com", request_id = "a3", action = "chat.reply" },
        });

        var byEmail = (await (await tenant.Read.GetAsync("/v1/audit/events?user_id=nei%40email.com")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray();
        byEmail.Select(e => e!["request_id"]!.GetValue<string>()).ShouldBe(["a3", "a1"]);
        var pseudonym = byEmail[0]!["user_id"]!.GetValue<string>();
        pseudonym.ShouldStartWith("[email:");
        byEmail.ToJsonString().ShouldNotContain("nei@");

        var byPseudonym = (await (await tenant.Read.GetAsync($"/v1/audit/events?user_id={Uri.EscapeDataString(pseudonym)}")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray();
        byPseudonym.Count.ShouldBe(2);
        var all = (await (await tenant.Read.GetAsync("/v1/audit/events?action=chat.reply")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray();
        all.Select(e => e!["user_id"]!.GetValue<string>()).Distinct().Count().ShouldBe(2);
    }

    [Fact]
    public async Task The_pseudonym_key_is_stable_across_instances_and_restarts()
    {
        var tenant = await host.CreateTenantAsync();
        await tenant.Ingest.PostAsJsonAsync("/v1/audit/events", new { user_id = "x@y.com", request_id = "k1", action = "a" });
        await using var second = host.CreateSecondInstance();
        var client = host.CreateClient(tenant.IngestKey.Key, second);
        await client.PostAsJsonAsync("/v1/audit/events", new { user_id = "x@y.com", request_id = "k2", action = "a" });

        await using var connection = new NpgsqlConnection(host.ConnectionString);
        var users = (await connection.QueryAsync<string>("SELECT DISTINCT user_id FROM audit.events WHERE tenant_id = @tenant AND action = 'a'", new { tenant = tenant.Id })).ToList();
        users.Count.ShouldBe(1);
        JsonValue.Create(users[0])!.GetValue<string>().ShouldStartWith("[email:");
    }
}
