using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Npgsql;
using Ops.Testing;
using Shouldly;
using Xunit;

namespace Ops.Api.Tests.Identity;

/// <summary>Tenant and key administration is audited, in the same transaction as the change.</summary>
public sealed class KeyAuditTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    [Fact]
    public async Task Creating_a_tenant_and_creating_and_revoking_a_key_are_audited_with_who_and_what()
    {
        var tenant = await host.CreateTenantAsync();
        var created = (await (await tenant.Admin.PostAsJsonAsync("/v1/admin/keys", new { name = "bot", roles = new[] { "ingest" } }))
            .ShouldHaveStatusAsync(HttpStatusCode.Created))!;
        var keyId = created["id"]!.GetValue<string>();
        (await tenant.Admin.DeleteAsync($"/v1/admin/keys/{keyId}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        await using var connection = new NpgsqlConnection(host.ConnectionString);
        var rows = (await connection.QueryAsync<(string Action, string Actor, string Details)>(
            "SELECT action, actor, details::text FROM audit.events WHERE tenant_id = @tenant ORDER BY ts, event_id", new { tenant = tenant.Id })).ToList();

        rows.Select(r => r.Action).ShouldBe(["tenant.created", "key.created", "key.created", "key.created", "key.created", "key.revoked"]);
        rows[0].Actor.ShouldContain("bootstrap");
        var keyCreated = JsonNode.Parse(rows[4].Details)!;
        rows[4].Actor.ShouldContain(tenant.AdminKey.Id.ToString());
        keyCreated["target"]!.GetValue<string>().ShouldBe($"key:{keyId}");
        keyCreated["after"]!["roles"]!.AsArray().Select(r => r!.GetValue<string>()).ShouldBe(["ingest"]);
        rows.ShouldAllBe(r => !r.Details.Contains(created["key"]!.GetValue<string>()));

        var revoked = JsonNode.Parse(rows[5].Details)!;
        revoked["before"]!["status"]!.GetValue<string>().ShouldBe("active");
        revoked["after"]!["status"]!.GetValue<string>().ShouldBe("revoked");
    }
}
