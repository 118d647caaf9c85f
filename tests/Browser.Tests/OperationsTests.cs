using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Ops.Testing;
using Shouldly;
using Xunit;

namespace Ops.Browser.Tests;

/// <summary>The Operations page: the kill switch and the audit log from the UI, and what a read key gets.</summary>
public sealed class OperationsTests(BrowserHost host) : IClassFixture<BrowserHost>
{
    [Fact]
    public async Task Halting_everything_from_the_page_kills_the_check_and_resuming_restores_it()
    {
        var tenant = await host.CreateTenantAsync();
        var page = await host.DesktopPageAsync();
        await BrowserHost.SignInAsync(page, tenant.AdminKey.Key);
        await page.GetByRole(AriaRole.Link, new() { Name = "Operations" }).ClickAsync();

        var halt = page.GetByRole(AriaRole.Button, new() { Name = "Halt everything" });
        await page.GetByLabel("Reason for halting (shown to agents)").FillAsync("provider incident");
        (await halt.IsDisabledAsync()).ShouldBeTrue("the halt needs the typed confirmation");
        await page.GetByLabel("Type HALT to confirm").FillAsync("HALT");
        await halt.ClickAsync();
        await page.GetByTestId("halted").WaitForAsync();
        (await page.GetByTestId("halted").InnerTextAsync()).ShouldContain("provider incident");

        var killed = await CheckAsync(tenant.Read);
        killed["killed"]!.GetValue<bool>().ShouldBeTrue();
        killed["scope"]!.GetValue<string>().ShouldBe("tenant");
        killed["reason"]!.GetValue<string>().ShouldBe("provider incident");

        // Block a user with an expiry; it is listed with its history.
        await page.GetByLabel("Kind").SelectOptionAsync("user");
        await page.GetByLabel("Id", new() { Exact = true }).FillAsync("u_looping");
        await page.GetByLabel("Reason for the block (shown to agents)").FillAsync("looped on this user");
        await page.GetByLabel("Expires (UTC, optional)").FillAsync("2026-05-18T16:00");
        await page.GetByRole(AriaRole.Button, new() { Name = "Block", Exact = true }).ClickAsync();
        var row = page.GetByTestId("flag-table").GetByRole(AriaRole.Row).Filter(new() { HasText = "kill:user:u_looping" });
        await row.WaitForAsync();
        (await row.InnerTextAsync()).ShouldContain("2026-05-18 16:00 UTC");
        await BrowserHost.ScreenshotAsync(page, "operations-desktop");

        await row.GetByRole(AriaRole.Button).ClickAsync();
        (await page.Locator(".history").InnerTextAsync()).ShouldContain("looped on this user");
        await page.GetByLabel("Reason for clearing kill:user:u_looping").FillAsync("customer verified");
        await page.GetByRole(AriaRole.Button, new() { Name = "Clear (unblock)" }).ClickAsync();
        await page.GetByText("No blocks or feature flags.").WaitForAsync();

        await page.GetByLabel("Reason for resuming").FillAsync("incident over");
        await page.GetByRole(AriaRole.Button, new() { Name = "Resume everything" }).ClickAsync();
        await halt.WaitForAsync();
        (await CheckAsync(tenant.Read))["killed"]!.GetValue<bool>().ShouldBeFalse();

        // The audit log viewer shows the operator actions, filtered by action prefix.
        await page.GetByLabel("Action (prefix with *)").FillAsync("flag.*");
        await page.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
        var audit = page.GetByTestId("audit-table");
        await audit.GetByText("flag.cleared").First.WaitForAsync();
        (await audit.GetByRole(AriaRole.Row).CountAsync()).ShouldBe(5, "header + set killall, set block, clear block, clear killall");
    }

    [Fact]
    public async Task The_audit_viewer_pages_through_events()
    {
        var tenant = await host.CreateTenantAsync();
        var events = new JsonArray(Enumerable.Range(0, 30).Select(i => (JsonNode)new JsonObject
        {
            ["ts"] = OpsTestHost.Epoch.AddMinutes(-i).ToString("O"),
            ["user_id"] = "u_page",
            ["request_id"] = $"r_{i:00}",
            ["action"] = "chat.reply",
            ["status"] = "ok",
        }).ToArray());
        (await tenant.Ingest.PostAsJsonAsync("/v1/audit/events", events)).EnsureSuccessStatusCode();

        var page = await host.DesktopPageAsync();
        await BrowserHost.SignInAsync(page, tenant.ReadKey.Key);
        await page.GotoAsync("/#/operations");
        await page.GetByLabel("User id").FillAsync("u_page");
        await page.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
        var rows = page.GetByTestId("audit-table").Locator("tbody tr");
        await page.GetByText("Page 1").WaitForAsync();
        await Expect(rows, 25);
        await page.GetByRole(AriaRole.Button, new() { Name = "Older" }).ClickAsync();
        await page.GetByText("Page 2").WaitForAsync();
        await Expect(rows, 5);
        (await page.GetByRole(AriaRole.Button, new() { Name = "Older" }).IsDisabledAsync()).ShouldBeTrue();
        await page.GetByRole(AriaRole.Button, new() { Name = "Newer" }).ClickAsync();
        await Expect(rows, 25);
    }

    [Fact]
    public async Task A_read_key_sees_no_operator_controls_and_the_api_refuses_them_anyway()
    {
        var tenant = await host.CreateTenantAsync();
        var page = await host.PhonePageAsync();
        await BrowserHost.SignInAsync(page, tenant.ReadKey.Key);
        await page.GotoAsync("/#/operations");
        await page.GetByTestId("read-only-note").WaitForAsync();
        await page.GetByTestId("killswitch-status").GetByText("Running").WaitForAsync();

        (await page.GetByRole(AriaRole.Button, new() { Name = "Halt everything" }).CountAsync()).ShouldBe(0);
        (await page.GetByRole(AriaRole.Button, new() { Name = "Block", Exact = true }).CountAsync()).ShouldBe(0);
        (await page.GetByRole(AriaRole.Button, new() { Name = "Snooze" }).CountAsync()).ShouldBe(0);
        (await page.GetByLabel("Type HALT to confirm").CountAsync()).ShouldBe(0);
        await BrowserHost.ScreenshotAsync(page, "operations-phone");

        var refused = await tenant.Read.PutAsJsonAsync("/v1/admin/flags/killall", new { value = true, reason = "not allowed" });
        refused.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await CheckAsync(tenant.Read))["killed"]!.GetValue<bool>().ShouldBeFalse();
    }

    [Fact]
    public async Task Snoozing_a_firing_alert_shows_it_snoozed_and_unsnoozing_ends_it()
    {
        var tenant = await host.CreateTenantAsync();
        await UsageData.PostAsync(tenant.Ingest, [new JsonObject
        {
            ["request_id"] = "no-price", ["user_id"] = "u_a", ["model"] = "gpt-4.1", ["provider"] = "openai", ["tokens_in"] = 10, ["tokens_out"] = 10,
            ["ts"] = OpsTestHost.Epoch.AddMinutes(-5).ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        }]);
        await FiringAsync(tenant.Admin, "unpriced_model");

        var page = await host.DesktopPageAsync();
        await BrowserHost.SignInAsync(page, tenant.AdminKey.Key);
        await page.GotoAsync("/#/operations");
        var alert = page.GetByTestId("alert-unpriced_model");
        await alert.WaitForAsync();
        (await alert.InnerTextAsync()).ShouldContain("firing");

        await alert.GetByRole(AriaRole.Button, new() { Name = "Snooze unpriced_model", Exact = true }).ClickAsync();
        await alert.GetByLabel("Hours").FillAsync("4");
        await alert.GetByLabel("Reason").FillAsync("adding the openai prices");
        await alert.GetByRole(AriaRole.Button, new() { Name = "Confirm snooze" }).ClickAsync();
        await alert.GetByText("Snoozed until 2026-05-18 16:00 UTC").WaitForAsync();
        (await alert.InnerTextAsync()).ShouldContain("adding the openai prices");
        var snoozes = (await (await tenant.Read.GetAsync("/v1/alerts/snoozes")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray();
        snoozes.Select(x => x!["key"]!.GetValue<string>()).ShouldBe(["unpriced_model"]);

        // Rules with their thresholds, editable by an admin.
        await page.GetByLabel("errors_24h threshold").FillAsync("50");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save errors_24h" }).ClickAsync();
        await WaitUntilAsync(async () =>
        {
            var rules = (await tenant.Read.GetFromJsonAsync<JsonObject>("/v1/alerts/rules"))!["items"]!.AsArray();
            return rules.Single(r => r!["key"]!.GetValue<string>() == "errors_24h")!["threshold"]!.GetValue<decimal>() == 50m;
        });
        await BrowserHost.ScreenshotAsync(page, "alerts-desktop");

        await alert.GetByRole(AriaRole.Button, new() { Name = "Unsnooze unpriced_model" }).ClickAsync();
        await alert.GetByRole(AriaRole.Button, new() { Name = "Snooze unpriced_model", Exact = true }).WaitForAsync();
        (await alert.InnerTextAsync()).ShouldNotContain("Snoozed");
        (await (await tenant.Read.GetAsync("/v1/alerts/snoozes")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["items"]!.AsArray().ShouldBeEmpty();
        await DashboardTests.ShouldBeAccessibleAsync(page);
    }

    /// <summary>Evaluates the rules (the fold adds the event to the rollups about a second after ingestion) until the alert fires.</summary>
    private static Task FiringAsync(HttpClient admin, string key) => WaitUntilAsync(async () =>
    {
        var evaluated = await admin.PostAsync("/v1/alerts/evaluate", null);
        evaluated.EnsureSuccessStatusCode();
        var firing = (await admin.GetFromJsonAsync<JsonObject>("/v1/alerts?state=firing"))!["items"]!.AsArray();
        return firing.Any(a => a!["key"]!.GetValue<string>() == key);
    });

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!await condition())
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline, "the condition did not hold within 15 s");
            await Task.Delay(200);
        }
    }

    private static async Task Expect(ILocator rows, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await rows.CountAsync() != count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        (await rows.CountAsync()).ShouldBe(count);
    }

    private static async Task<JsonNode> CheckAsync(HttpClient read)
    {
        var response = await read.GetAsync("/v1/killswitch/check");
        return (await response.ShouldHaveStatusAsync(HttpStatusCode.OK))!;
    }
}
