using System.Net;
using System.Net.Http.Json;
using Ops.Testing;
using Shouldly;
using Xunit;

namespace Ops.Modules.Audit.Tests.Api;

public sealed class ReadTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    [Fact]
    public async Task Pages_are_newest_first_and_the_cursor_walks_every_event_once()
    {
        var tenant = await host.CreateTenantAsync();
        var now = host.Time.GetUtcNow();
        // 25 events, some sharing a timestamp so event_id breaks the ties.
        await tenant.Ingest.IngestAsync(Enumerable.Range(0, 25).Select(i => AuditClient.Event($"p{i:00}", now.AddSeconds(-(i / 2)))).ToArray());

        var first = (await (await tenant.Read.GetAsync("/v1/audit/events?action=chat.reply&limit=10")).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        first["items"]!.AsArray().Count.ShouldBe(10);
        first["next_cursor"].ShouldNotBeNull();

        var all = await tenant.Read.ListAllAsync("action=chat.reply", limit: 10);
        all.Count.ShouldBe(25);
        all.Select(e => e["request_id"]!.GetValue<string>()).Distinct().Count().ShouldBe(25);
        var times = all.Select(e => e["ts"]!.GetValue<DateTime>()).ToList();
        times.ShouldBe(times.OrderDescending().ToList());
    }

    [Fact]
    public async Task Paging_is_stable_while_events_are_written()
    {
        var tenant = await host.CreateTenantAsync();
        var now = host.Time.GetUtcNow();
        await tenant.Ingest.IngestAsync(Enumerable.Range(0, 30).Select(i => AuditClient.Event($"s{i:00}", now.AddMinutes(-i))).ToArray());

        var seen = new List<string>();
        var page = (await (await tenant.Read.GetAsync("/v1/audit/events?action=chat.reply&limit=10")).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        seen.AddRange(page["items"]!.AsArray().Select(e => e!["request_id"]!.GetValue<string>()));

        // Newer events and events older than the cursor arrive between pages.
        await tenant.Ingest.IngestAsync(Enumerable.Range(0, 10).Select(i => AuditClient.Event($"new{i}", now.AddSeconds(-i))).ToArray());
        await tenant.Ingest.IngestAsync(Enumerable.Range(0, 5).Select(i => AuditClient.Event($"late{i}", now.AddMinutes(-100 - i))).ToArray());

        var cursor = page["next_cursor"]!.GetValue<string>();
        while (cursor is not null)
        {
            page = (await (await tenant.Read.GetAsync($"/v1/audit/events?action=chat.reply&limit=10&cursor={Uri.EscapeDataString(cursor)}")).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
            seen.AddRange(page["items"]!.AsArray().Select(e => e!["request_id"]!.GetValue<string>()));
            cursor = page["next_cursor"]?.GetValue<string>();
        }

        seen.Count.ShouldBe(seen.Distinct().Count(), "no event is listed twice");
        Enumerable.Range(0, 30).Select(i => $"s{i:00}").ShouldAllBe(id => seen.Contains(id));
        Enumerable.Range(0, 5).Select(i => $"late{i}").ShouldAllBe(id => seen.Contains(id), "events written behind the cursor still come");
        seen.ShouldNotContain("new0", "events newer than the first page belong to a new listing");
    }

    [Fact]
    public async Task Filters_narrow_by_time_action_user_request_and_status()
    {
        var tenant = await host.CreateTenantAsync();
        var now = host.Time.GetUtcNow();
        await tenant.Ingest.IngestAsync(new[]
        {
            AuditClient.Event("f1", now.AddHours(-3), action: "chat.reply", user: "u_a"),
            AuditClient.Event("f2", now.AddHours(-2), action: "chat.reply", user: "u_b", status: "error"),
            AuditClient.Event("f3", now.AddHours(-1), action: "tool.call", user: "u_a"),
            AuditClient.Event("f4", now.AddMinutes(-1), action: "tool.search", user: "u_a"),
        });

        async Task<string[]> Ids(string query) =>
            (await tenant.Read.ListAllAsync(query)).Select(e => e["request_id"]?.GetValue<string>()).OfType<string>().Order().ToArray();

        (await Ids("action=chat.reply")).ShouldBe(["f1", "f2"]);
        (await Ids("action=tool.*")).ShouldBe(["f3", "f4"]);
        (await Ids("user_id=u_a")).ShouldBe(["f1", "f3", "f4"]);
        (await Ids("status=error")).ShouldBe(["f2"]);
        (await Ids("request_id=f3")).ShouldBe(["f3"]);
        var from = Uri.EscapeDataString(now.AddHours(-2).ToString("O"));
        var to = Uri.EscapeDataString(now.AddMinutes(-30).ToString("O"));
        (await Ids($"from={from}&to={to}&user_id=u_a")).ShouldBe(["f3"]);
    }

    [Fact]
    public async Task A_request_id_filter_finds_its_events_on_every_day_through_the_idempotency_keys()
    {
        var tenant = await host.CreateTenantAsync();
        var now = host.Time.GetUtcNow();
        await tenant.Ingest.IngestAsync(new[]
        {
            AuditClient.Event("r-multi", now.AddDays(-2), action: "chat.reply"),
            AuditClient.Event("r-multi", now.AddDays(-1), action: "tool.call"),
            AuditClient.Event("r-multi", now.AddMinutes(-5), action: "chat.feedback"),
            AuditClient.Event("r-other", now.AddDays(-1), action: "tool.call"),
        });

        (await tenant.Read.ListAllAsync("request_id=r-multi", limit: 1)).Select(e => e["action"]!.GetValue<string>())
            .ShouldBe(["chat.feedback", "tool.call", "chat.reply"], "newest first across three day partitions, a page each");
        (await tenant.Read.ListAllAsync("request_id=r-multi&action=tool.call")).Count.ShouldBe(1);
        (await tenant.Read.ExportNdjsonAsync("request_id=r-multi")).Select(e => e["action"]!.GetValue<string>())
            .ShouldBe(["chat.reply", "tool.call", "chat.feedback"]);
    }

    [Fact]
    public async Task A_cursor_only_works_with_its_own_filters_and_bad_parameters_name_themselves()
    {
        var tenant = await host.CreateTenantAsync();
        var now = host.Time.GetUtcNow();
        await tenant.Ingest.IngestAsync(Enumerable.Range(0, 3).Select(i => AuditClient.Event($"c{i}", now.AddSeconds(-i))).ToArray());
        var page = (await (await tenant.Read.GetAsync("/v1/audit/events?action=chat.reply&limit=1")).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        var cursor = Uri.EscapeDataString(page["next_cursor"]!.GetValue<string>());

        await (await tenant.Read.GetAsync($"/v1/audit/events?action=tool.call&cursor={cursor}")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "cursor");
        await (await tenant.Read.GetAsync("/v1/audit/events?cursor=not-a-cursor")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "cursor");
        await (await tenant.Read.GetAsync("/v1/audit/events?limit=0")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "limit");
        await (await tenant.Read.GetAsync("/v1/audit/events?limit=100000")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "limit");
        await (await tenant.Read.GetAsync("/v1/audit/events?from=2026-05-18T12:00:00Z&to=2026-05-18T11:00:00Z")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "to");
        await (await tenant.Read.GetAsync("/v1/audit/events?action=a*b")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "action");
        await (await tenant.Read.GetAsync("/v1/audit/events?from=yesterday")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "from");
    }

    [Fact]
    public async Task A_tenant_never_sees_another_tenants_events()
    {
        var a = await host.CreateTenantAsync();
        var b = await host.CreateTenantAsync();
        var now = host.Time.GetUtcNow();
        await a.Ingest.IngestAsync(new[] { AuditClient.Event("same-id", now, user: "u_of_a") });
        var second = await b.Ingest.IngestAsync(new[] { AuditClient.Event("same-id", now, user: "u_of_b") });
        second["accepted"]!.GetValue<int>().ShouldBe(1, "idempotency keys are per tenant");

        (await b.Read.ListAllAsync()).ShouldAllBe(e => e["user_id"] == null || e["user_id"]!.GetValue<string>() != "u_of_a");
        (await b.Read.ExportNdjsonAsync()).ShouldAllBe(e => e["user_id"] == null || e["user_id"]!.GetValue<string>() != "u_of_a");
        (await a.Read.ListAllAsync("request_id=same-id")).Single()["user_id"]!.GetValue<string>().ShouldBe("u_of_a");
        (await b.Read.ListAllAsync("request_id=same-id")).Single()["user_id"]!.GetValue<string>().ShouldBe("u_of_b");
    }

    [Fact]
    public async Task The_foundations_key_operations_are_in_the_tenants_audit_log_with_who_and_what()
    {
        var tenant = await host.CreateTenantAsync();
        var created = (await (await tenant.Admin.PostAsJsonAsync("/v1/admin/keys", new { name = "bot", roles = new[] { "ingest" } })).ShouldHaveStatusAsync(HttpStatusCode.Created))!;
        var keyId = created["id"]!.GetValue<string>();
        (await tenant.Admin.DeleteAsync($"/v1/admin/keys/{keyId}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        var events = await tenant.Read.ListAllAsync("action=key.*");
        var revoked = events.First();
        revoked["action"]!.GetValue<string>().ShouldBe("key.revoked");
        revoked["target"]!.GetValue<string>().ShouldBe($"key:{keyId}");
        revoked["actor"]!.GetValue<string>().ShouldContain(tenant.AdminKey.Id.ToString());
        revoked["before"]!["status"]!.GetValue<string>().ShouldBe("active");
        revoked["after"]!["status"]!.GetValue<string>().ShouldBe("revoked");
        events.Count(e => e["action"]!.GetValue<string>() == "key.created").ShouldBe(4);
        (await tenant.Read.ListAllAsync("action=tenant.created")).Single()["actor"]!.GetValue<string>().ShouldContain("bootstrap");
    }
}
