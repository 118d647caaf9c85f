using System.Net;
using System.Net.Http.Json;
using Ops.Testing;
using Shouldly;
using Xunit;

namespace Ops.Api.Tests.Identity;

public sealed class ApiKeyTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    [Fact]
    public async Task Created_key_is_returned_once_and_listed_without_its_secret()
    {
        var tenant = await host.CreateTenantAsync();
        var response = await tenant.Admin.PostAsJsonAsync("/v1/admin/keys", new { name = "agent-7", roles = new[] { "ingest" } });
        var created = (await response.ShouldHaveStatusAsync(HttpStatusCode.Created))!;
        var key = created["key"]!.GetValue<string>();
        key.ShouldStartWith($"ops_{created["prefix"]!.GetValue<string>()}_");
        created["tenant_id"]!.GetValue<string>().ShouldBe(tenant.Id);

        var listText = await tenant.Admin.GetStringAsync("/v1/admin/keys");
        listText.ShouldNotContain(key);
        listText.ShouldNotContain(key[^32..]);
        listText.ShouldNotContain("secret");
        var list = System.Text.Json.Nodes.JsonNode.Parse(listText)!["items"]!.AsArray();
        var listed = list.Single(k => k!["id"]!.GetValue<string>() == created["id"]!.GetValue<string>())!;
        listed["prefix"]!.GetValue<string>().ShouldBe(created["prefix"]!.GetValue<string>());
        listed["roles"]!.AsArray().Select(r => r!.GetValue<string>()).ShouldBe(["ingest"]);
        listed["status"]!.GetValue<string>().ShouldBe("active");
        listed["created_at"].ShouldNotBeNull();
        listed.AsObject().ContainsKey("key").ShouldBeFalse();
        list.ShouldAllBe(k => k!["tenant_id"]!.GetValue<string>() == tenant.Id);
    }

    [Fact]
    public async Task Key_use_is_recorded_as_last_used()
    {
        var tenant = await host.CreateTenantAsync();
        (await tenant.Read.GetAsync("/v1/admin/keys")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        var deadline = DateTime.UtcNow.AddSeconds(5);
        string? lastUsed = null;
        while (lastUsed is null && DateTime.UtcNow < deadline)
        {
            var list = (await (await tenant.Admin.GetAsync("/v1/admin/keys")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray();
            lastUsed = list.Single(k => k!["id"]!.GetValue<string>() == tenant.ReadKey.Id.ToString())!["last_used_at"]?.GetValue<string>();
            await Task.Delay(50);
        }

        DateTimeOffset.Parse(lastUsed.ShouldNotBeNull(), System.Globalization.CultureInfo.InvariantCulture).ShouldBe(host.Time.GetUtcNow(), TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task Missing_or_malformed_credentials_get_401_problem_details()
    {
        var anonymous = host.CreateClient();
        var problem = await (await anonymous.GetAsync("/v1/admin/keys")).ShouldBeProblemAsync(HttpStatusCode.Unauthorized);
        problem["detail"]!.GetValue<string>().ShouldContain("API key is required");

        foreach (var header in new[] { "Basic dXNlcjpwYXNz", "Bearer", "Bearer not-a-key", "Bearer ops_short_x", $"Bearer {TestKeys.Bootstrap[..^1]}Z" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/admin/keys");
            request.Headers.TryAddWithoutValidation("Authorization", header);
            var response = await anonymous.SendAsync(request);
            await response.ShouldBeProblemAsync(HttpStatusCode.Unauthorized);
            response.Headers.WwwAuthenticate.ToString().ShouldBe("Bearer");
        }
    }

    [Fact]
    public async Task X_Api_Key_header_is_accepted_like_bearer()
    {
        var client = host.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", TestKeys.Bootstrap);
        (await client.GetAsync("/v1/admin/tenants")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Wrong_role_gets_403_naming_the_required_role()
    {
        var tenant = await host.CreateTenantAsync();
        foreach (var client in new[] { tenant.Ingest, tenant.Read })
        {
            var problem = await (await client.PostAsJsonAsync("/v1/admin/keys", new { name = "x", roles = new[] { "read" } }))
                .ShouldBeProblemAsync(HttpStatusCode.Forbidden);
            problem["detail"]!.GetValue<string>().ShouldContain("admin");
        }

        // A tenant admin is not a platform admin.
        await (await tenant.Admin.PostAsJsonAsync("/v1/admin/tenants", new { id = "sneaky", name = "x" })).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Revocation_takes_effect_at_once()
    {
        var tenant = await host.CreateTenantAsync();
        var extra = await host.CreateKeyAsync(tenant.Id, "read");
        var client = host.CreateClient(extra.Key);
        (await client.GetAsync("/v1/admin/tenants")).StatusCode.ShouldBe(HttpStatusCode.Forbidden); // authenticated (cached), wrong role

        (await tenant.Admin.DeleteAsync($"/v1/admin/keys/{extra.Id}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        var problem = await (await client.GetAsync("/v1/admin/tenants")).ShouldBeProblemAsync(HttpStatusCode.Unauthorized);
        problem["detail"]!.GetValue<string>().ShouldContain("revoked");
        var listed = (await (await tenant.Admin.GetAsync("/v1/admin/keys")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray()
            .Single(k => k!["id"]!.GetValue<string>() == extra.Id.ToString())!;
        listed["status"]!.GetValue<string>().ShouldBe("revoked");
        listed["revoked_at"].ShouldNotBeNull();

        // Revoking twice is harmless; an unknown key is 404.
        (await tenant.Admin.DeleteAsync($"/v1/admin/keys/{extra.Id}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        await (await tenant.Admin.DeleteAsync($"/v1/admin/keys/{Guid.NewGuid()}")).ShouldBeProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Revocation_reaches_a_second_instance_within_a_second()
    {
        var tenant = await host.CreateTenantAsync();
        var extra = await host.CreateKeyAsync(tenant.Id, "admin");
        await using var second = host.CreateSecondInstance();
        var onSecond = host.CreateClient(extra.Key, second);
        (await onSecond.GetAsync("/v1/admin/keys")).StatusCode.ShouldBe(HttpStatusCode.OK); // now cached on the second instance

        (await tenant.Admin.DeleteAsync($"/v1/admin/keys/{extra.Id}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        HttpStatusCode status;
        do
        {
            status = (await onSecond.GetAsync("/v1/admin/keys")).StatusCode;
            if (status == HttpStatusCode.Unauthorized)
            {
                break;
            }

            await Task.Delay(20);
        }
        while (stopwatch.Elapsed < TimeSpan.FromSeconds(1));

        status.ShouldBe(HttpStatusCode.Unauthorized, $"still accepted after {stopwatch.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task Expired_key_is_rejected_once_its_time_passes()
    {
        var tenant = await host.CreateTenantAsync();
        var expiresAt = host.Time.GetUtcNow().AddHours(2);
        var created = (await (await tenant.Admin.PostAsJsonAsync("/v1/admin/keys", new { name = "temp", roles = new[] { "admin" }, expires_at = expiresAt }))
            .ShouldHaveStatusAsync(HttpStatusCode.Created))!;
        var client = host.CreateClient(created["key"]!.GetValue<string>());
        (await client.GetAsync("/v1/admin/keys")).StatusCode.ShouldBe(HttpStatusCode.OK);

        // The clock only moves forward; the other tests of this class do not depend on its absolute value.
        host.Time.Advance(TimeSpan.FromHours(2));
        var problem = await (await client.GetAsync("/v1/admin/keys")).ShouldBeProblemAsync(HttpStatusCode.Unauthorized);
        problem["detail"]!.GetValue<string>().ShouldContain("expired");

        // An expiry in the past is refused, naming the field.
        await (await tenant.Admin.PostAsJsonAsync("/v1/admin/keys", new { name = "old", roles = new[] { "read" }, expires_at = host.Time.GetUtcNow().AddMinutes(-1) }))
            .ShouldBeProblemAsync(HttpStatusCode.BadRequest, "expires_at");
    }

    [Fact]
    public async Task Another_tenants_keys_are_out_of_reach()
    {
        var a = await host.CreateTenantAsync();
        var b = await host.CreateTenantAsync();

        await (await a.Admin.DeleteAsync($"/v1/admin/keys/{b.ReadKey.Id}")).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await (await a.Admin.GetAsync($"/v1/admin/keys?tenant_id={b.Id}")).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await (await a.Admin.PostAsJsonAsync("/v1/admin/keys", new { tenant_id = b.Id, name = "x", roles = new[] { "admin" } })).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await (await a.Admin.PostAsJsonAsync("/v1/admin/keys", new { name = "x", roles = new[] { "admin" }, platform_admin = true })).ShouldBeProblemAsync(HttpStatusCode.Forbidden);

        // B's key still works: nothing A did touched it.
        (await host.CreateClient(b.ReadKey.Key).GetAsync("/v1/admin/tenants")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        var tenants = (await (await b.Admin.GetAsync("/v1/admin/tenants")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray();
        tenants.Select(t => t!["id"]!.GetValue<string>()).ShouldBe([b.Id]);
    }

    [Fact]
    public async Task Platform_admin_manages_any_tenant_and_cannot_lock_itself_out()
    {
        var tenant = await host.CreateTenantAsync();
        var forTenant = (await (await host.Platform.PostAsJsonAsync("/v1/admin/keys", new { tenant_id = tenant.Id, name = "ops", roles = new[] { "read" } }))
            .ShouldHaveStatusAsync(HttpStatusCode.Created))!;
        forTenant["tenant_id"]!.GetValue<string>().ShouldBe(tenant.Id);

        var all = (await (await host.Platform.GetAsync("/v1/admin/tenants")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray();
        all.Select(t => t!["id"]!.GetValue<string>()).ShouldContain(tenant.Id);
        all.Select(t => t!["id"]!.GetValue<string>()).ShouldContain(TestKeys.DefaultTenant);

        await (await host.Platform.PostAsJsonAsync("/v1/admin/tenants", new { id = tenant.Id, name = "again" })).ShouldBeProblemAsync(HttpStatusCode.Conflict, "id");
        await (await host.Platform.PostAsJsonAsync("/v1/admin/tenants", new { id = "Not Valid", name = "" })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "id");
        await (await host.Platform.PostAsJsonAsync("/v1/admin/keys", new { tenant_id = "no-such-tenant", name = "x", roles = new[] { "read" } }))
            .ShouldBeProblemAsync(HttpStatusCode.BadRequest, "tenant_id");
        await (await host.Platform.PostAsJsonAsync("/v1/admin/keys", new { name = "x", roles = new[] { "superuser" } })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "roles[0]");

        var bootstrap = (await (await host.Platform.GetAsync($"/v1/admin/keys?tenant_id={TestKeys.DefaultTenant}")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!
            .AsArray().Single(k => k!["name"]!.GetValue<string>() == "bootstrap")!;
        bootstrap["platform_admin"]!.GetValue<bool>().ShouldBeTrue();
        await (await host.Platform.DeleteAsync($"/v1/admin/keys/{bootstrap["id"]!.GetValue<string>()}")).ShouldBeProblemAsync(HttpStatusCode.Conflict);
    }
}
