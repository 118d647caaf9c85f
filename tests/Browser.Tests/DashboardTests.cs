using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using Ops.Testing;
using Shouldly;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Ops.Browser.Tests;

/// <summary>One tenant holding <see cref="UsageData"/>, a daily budget of $0.18 and BRL as the display currency.</summary>
public sealed class SeededBrowserHost : BrowserHost
{
    public TestTenant Tenant { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Tenant = await CreateTenantAsync("acme");
        await UsageData.LoadAsync(Tenant);
        (await Tenant.Admin.PutAsJsonAsync($"/v1/budgets/tenant/{Tenant.Id}", new { period = "day", limit_usd = 0.18m })).EnsureSuccessStatusCode();
        (await Tenant.Admin.PutAsJsonAsync("/v1/budgets/agent/support-bot", new { period = "month", limit_usd = 0.05m })).EnsureSuccessStatusCode();
        (await Tenant.Admin.PutAsJsonAsync("/v1/budgets/user/u_a", new { period = "day", limit_usd = 1m })).EnsureSuccessStatusCode();
        var settings = await Tenant.Read.GetFromJsonAsync<JsonObject>("/v1/settings/dashboard");
        settings!["currency"] = "BRL";
        settings["rate"] = 5.0m;
        (await Tenant.Admin.PutAsJsonAsync("/v1/settings/dashboard", settings)).EnsureSuccessStatusCode();
    }
}

/// <summary>The Overview and Usage pages against the known data set (see <see cref="UsageData"/> for the arithmetic).</summary>
public sealed class DashboardTests(SeededBrowserHost host) : IClassFixture<SeededBrowserHost>
{
    [Fact]
    public async Task The_overview_shows_the_four_cards_with_their_values_and_colours()
    {
        var page = await host.DesktopPageAsync();
        await BrowserHost.SignInAsync(page, host.Tenant.ReadKey.Key);

        await Expect(page.GetByTestId("value-dau")).ToHaveTextAsync("5");
        (await page.GetByTestId("card-dau").InnerTextAsync()).ShouldContain("+150 % vs yesterday (2)");
        (await Status(page, "dau")).ShouldBe("ok");

        // $0.156 today (opus 4 × $0.03 + sonnet 6 × $0.006), 86.67 % of the $0.18 daily budget: amber; shown in BRL at 5.0.
        (await page.GetByTestId("value-cost").InnerTextAsync()).ShouldBe("R$0.78 ($0.156)");
        (await page.GetByTestId("card-cost").InnerTextAsync()).ShouldContain("86.7 % of the daily budget");
        (await Status(page, "cost")).ShouldBe("warning");

        (await page.GetByTestId("value-errors").InnerTextAsync()).ShouldBe("1");
        (await page.GetByTestId("card-errors").InnerTextAsync()).ShouldContain("1 critical");
        (await Status(page, "errors")).ShouldBe("critical");

        // p95s come from the rollups' sketches (about 1 % relative error, ADR 0021).
        Number(await page.GetByTestId("value-latency").InnerTextAsync(), " s").ShouldBe(1.5m, 0.02m);
        (await Status(page, "latency")).ShouldBe("ok");
        Number(await page.GetByTestId("value-ttft").InnerTextAsync(), " ms").ShouldBe(300m, 5m);
        (await page.GetByTestId("value-feedback").InnerTextAsync()).ShouldBe("80 %");
        (await Status(page, "feedback")).ShouldBe("warning");

        // The colour follows the status: red for critical, amber for warning.
        (await page.GetByTestId("card-errors").EvaluateAsync<string>("e => getComputedStyle(e).borderTopColor")).ShouldBe("rgb(207, 34, 46)");
        (await page.GetByTestId("card-cost").EvaluateAsync<string>("e => getComputedStyle(e).borderTopColor")).ShouldBe("rgb(154, 103, 0)");
        await BrowserHost.ScreenshotAsync(page, "overview-desktop");
        await ShouldBeAccessibleAsync(page);

        var phone = await host.PhonePageAsync();
        await BrowserHost.SignInAsync(phone, host.Tenant.ReadKey.Key);
        await Expect(phone.GetByTestId("value-dau")).ToHaveTextAsync("5");
        await BrowserHost.ScreenshotAsync(phone, "overview-phone");
        await ShouldNotOverflowAsync(phone);
    }

    [Fact]
    public async Task The_time_range_and_the_filters_change_every_number_and_the_link()
    {
        var page = await host.DesktopPageAsync();
        await BrowserHost.SignInAsync(page, host.Tenant.ReadKey.Key);
        await page.GetByRole(AriaRole.Link, new() { Name = "Usage" }).ClickAsync();

        // Default: the last 30 days.
        await ExpectSummaryAsync(page, requests: "29", cost: "$0.236", tokens: "34,800");
        (await page.GetByLabel("Time range").InputValueAsync()).ShouldBe("30d");
        await page.GetByTestId("chart-tokens").Locator("canvas").WaitForAsync();
        await BrowserHost.ScreenshotAsync(page, "usage-desktop");
        await ShouldBeAccessibleAsync(page);

        await page.GetByLabel("Time range").SelectOptionAsync("7d");
        await ExpectSummaryAsync(page, requests: "14", cost: "$0.168", tokens: "16,800");

        await page.GetByLabel("Models", new() { Exact = true }).SelectOptionAsync(["claude-opus-4-7"]);
        await ExpectSummaryAsync(page, requests: "4", cost: "$0.12", tokens: "4,800");
        page.Url.ShouldContain("period=7d");
        page.Url.ShouldContain("model=claude-opus-4-7");

        // "Last 3 months" is a custom range ending at the server's now: it reaches the opus calls of 40 days ago.
        await page.GetByLabel("Time range").SelectOptionAsync("3mo");
        await ExpectSummaryAsync(page, requests: "14", cost: "$0.42", tokens: "16,800");

        // The link is shareable: a new session opening it sees the same view.
        var other = await host.PhonePageAsync();
        await BrowserHost.SignInAsync(other, host.Tenant.ReadKey.Key);
        await other.GotoAsync(page.Url);
        await ExpectSummaryAsync(other, requests: "14", cost: "$0.42", tokens: "16,800");
        (await other.GetByLabel("Models", new() { Exact = true }).EvaluateAsync<string[]>("s => [...s.selectedOptions].map(o => o.value)")).ShouldBe(["claude-opus-4-7"]);

        // A provider checkbox: the unpriced openai calls only.
        await page.GetByRole(AriaRole.Button, new() { Name = "Clear filters" }).ClickAsync();
        await page.GetByLabel("Time range").SelectOptionAsync("30d");
        await page.GetByRole(AriaRole.Checkbox, new() { Name = "openai" }).CheckAsync();
        await ExpectSummaryAsync(page, requests: "2", cost: "$0.00", tokens: "2,400");

        // A custom range of one day: the ten sonnet calls of 10 days ago.
        await page.GetByRole(AriaRole.Button, new() { Name = "Clear filters" }).ClickAsync();
        await page.GetByLabel("Time range").SelectOptionAsync("custom");
        await page.GetByLabel("First day (UTC)").FillAsync("2026-05-08");
        await page.GetByLabel("Last day (UTC)").FillAsync("2026-05-08");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply" }).ClickAsync();
        await ExpectSummaryAsync(page, requests: "10", cost: "$0.06", tokens: "12,000");

        // A day without data says so.
        await page.GetByLabel("First day (UTC)").FillAsync("2026-05-01");
        await page.GetByLabel("Last day (UTC)").FillAsync("2026-05-01");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply" }).ClickAsync();
        await Expect(page.GetByTestId("empty")).ToHaveTextAsync("No usage data for this period");

        await other.GotoAsync("/#/usage");
        await ExpectSummaryAsync(other, requests: "29", cost: "$0.236", tokens: "34,800");
        await other.GetByTestId("budgets").GetByRole(AriaRole.Table).WaitForAsync();
        await BrowserHost.ScreenshotAsync(other, "usage-phone");
        await ShouldNotOverflowAsync(other);
    }

    [Fact]
    public async Task The_by_model_table_sorts_by_any_column_and_filters()
    {
        var page = await host.DesktopPageAsync();
        await BrowserHost.SignInAsync(page, host.Tenant.ReadKey.Key);
        await page.GotoAsync("/#/usage");
        var table = page.GetByTestId("model-table");
        await Expect(table.Locator("tbody tr")).ToHaveCountAsync(4);

        (await ModelColumnAsync(table)).ShouldBe(["claude-opus-4-7", "claude-sonnet-4-7", "claude-haiku-4-7", "gpt-4.1"], "cost, highest first");
        await table.GetByRole(AriaRole.Button, new() { Name = "Calls" }).ClickAsync();
        (await ModelColumnAsync(table)).ShouldBe(["claude-sonnet-4-7", "claude-haiku-4-7", "claude-opus-4-7", "gpt-4.1"], "18, 5, 4, 2 calls");
        (await table.Locator("th", new() { HasText = "Calls" }).GetAttributeAsync("aria-sort")).ShouldBe("descending");
        await table.GetByRole(AriaRole.Button, new() { Name = "Calls" }).ClickAsync();
        (await ModelColumnAsync(table)).ShouldBe(["gpt-4.1", "claude-opus-4-7", "claude-haiku-4-7", "claude-sonnet-4-7"]);
        await table.GetByRole(AriaRole.Button, new() { Name = "Model" }).ClickAsync();
        (await ModelColumnAsync(table)).ShouldBe(["claude-haiku-4-7", "claude-opus-4-7", "claude-sonnet-4-7", "gpt-4.1"]);

        await page.GetByLabel("Filter models").FillAsync("openai");
        (await ModelColumnAsync(table)).ShouldBe(["gpt-4.1"]);
        var row = await table.Locator("tbody tr").First.Locator("td").AllInnerTextsAsync();
        row.Take(7).ShouldBe(["gpt-4.1", "openai", "2", "2,000", "400", "$0.00", "900 ms"]);
        Number(row[7], " ms").ShouldBe(900m, 15m); // p95 from the sketch
    }

    [Fact]
    public async Task The_exports_download_exactly_what_is_on_screen()
    {
        var page = await host.DesktopPageAsync();
        await BrowserHost.SignInAsync(page, host.Tenant.ReadKey.Key);
        await page.GotoAsync("/#/usage?period=7d&provider=anthropic");
        await ExpectSummaryAsync(page, requests: "12", cost: "$0.168", tokens: "14,400");

        var csv = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Export CSV" }).ClickAsync());
        var lines = (await File.ReadAllLinesAsync((await csv.PathAsync())!)).Where(l => l.Length > 0).ToList();
        var header = lines[0].Split(',');
        var rows = lines.Skip(1).Select(l => l.Split(',')).ToList();
        decimal Sum(string column) => rows.Sum(r => decimal.Parse(r[Array.IndexOf(header, column)], CultureInfo.InvariantCulture));
        Sum("cost_usd").ShouldBe(0.168m);
        Sum("requests").ShouldBe(12m);
        rows.Select(r => r[Array.IndexOf(header, "model")]).Order().ShouldBe(["claude-opus-4-7", "claude-sonnet-4-7"]);

        var json = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Export JSON" }).ClickAsync());
        var document = JsonNode.Parse(await File.ReadAllTextAsync((await json.PathAsync())!))!;
        var items = (document as JsonArray ?? document["items"]!.AsArray()).Select(i => i!).ToList();
        items.Sum(i => i["cost_usd"]!.GetValue<decimal>()).ShouldBe(0.168m);
        items.Sum(i => i["requests"]!.GetValue<long>()).ShouldBe(12);
    }

    [Fact]
    public async Task The_budget_table_shows_a_badge_per_state()
    {
        var page = await host.DesktopPageAsync();
        await BrowserHost.SignInAsync(page, host.Tenant.ReadKey.Key);
        await page.GotoAsync("/#/usage");
        var table = page.GetByTestId("budget-table");
        await table.WaitForAsync();
        async Task<string> Badge(string scope, string id) =>
            await table.Locator("tbody tr").Filter(new() { Has = page.Locator($"td:text-is('{scope}')") }).Filter(new() { Has = page.Locator($"td:text-is('{id}')") })
                .Locator(".badge").InnerTextAsync();

        (await Badge("tenant", "acme")).ShouldStartWith("80%+ of budget used"); // $0.156 of $0.18 today
        (await Badge("agent", "support-bot")).ShouldStartWith("Budget exceeded");  // $0.18 this month (opus today, sonnet 10 days ago) of $0.05
        (await Badge("agent", "sales-bot")).ShouldBe("No limit set");
        (await Badge("user", "u_a")).ShouldStartWith("OK");
    }

    [Fact]
    public async Task An_event_ingested_during_the_test_appears_without_a_reload()
    {
        var tenant = await host.CreateTenantAsync();
        var page = await host.DesktopPageAsync();
        await BrowserHost.SignInAsync(page, tenant.ReadKey.Key);
        await Expect(page.GetByTestId("value-dau")).ToHaveTextAsync("0");
        await Expect(page.GetByTestId("live")).ToHaveTextAsync("Live");
        await page.EvaluateAsync("() => { window.__marker = 'same page'; }");

        await UsageData.PostAsync(tenant.Ingest, [new JsonObject
        {
            ["request_id"] = "live-1", ["user_id"] = "u_live", ["model"] = "claude-opus-4-7", ["tokens_in"] = 1_000, ["tokens_out"] = 200,
            ["ts"] = OpsTestHost.Epoch.AddMinutes(-1).ToString("O", CultureInfo.InvariantCulture),
        }]);

        await Expect(page.GetByTestId("value-dau")).ToHaveTextAsync("1", new() { Timeout = 5_000 });
        (await page.GetByTestId("value-cost").InnerTextAsync()).ShouldBe("$0.03");
        (await page.EvaluateAsync<string>("() => window.__marker")).ShouldBe("same page");

        // The indicator shows when the connection drops.
        await page.Context.SetOfflineAsync(true);
        await Expect(page.GetByTestId("live")).ToHaveTextAsync("Disconnected");
        await page.Context.SetOfflineAsync(false);
        await Expect(page.GetByTestId("live")).ToHaveTextAsync("Live", new() { Timeout = 20_000 });
    }

    private static decimal Number(string text, string unit) =>
        decimal.Parse(text.Replace(unit, string.Empty, StringComparison.Ordinal).Replace(",", string.Empty, StringComparison.Ordinal), CultureInfo.InvariantCulture);

    private static async Task<string?> Status(IPage page, string card) => await page.GetByTestId($"card-{card}").GetAttributeAsync("data-status");

    private static async Task ExpectSummaryAsync(IPage page, string requests, string cost, string tokens)
    {
        await Expect(page.GetByTestId("summary-requests-value")).ToHaveTextAsync(requests);
        await Expect(page.GetByTestId("summary-cost-value")).ToHaveTextAsync(cost);
        await Expect(page.GetByTestId("summary-tokens-value")).ToHaveTextAsync(tokens);
    }

    private static async Task<IReadOnlyList<string>> ModelColumnAsync(ILocator table) =>
        await table.Locator("tbody tr td:first-child").AllInnerTextsAsync();

    internal static async Task ShouldBeAccessibleAsync(IPage page)
    {
        var results = await page.RunAxe();
        var serious = results.Violations.Where(v => v.Impact is "serious" or "critical")
            .Select(v => $"{v.Id}: {v.Help} ({string.Join(" | ", v.Nodes.Take(3).Select(n => n.Html))})").ToList();
        serious.ShouldBeEmpty();
    }

    /// <summary>Nothing sticks out of the viewport horizontally (scrolling tables scroll inside their own box).</summary>
    internal static async Task ShouldNotOverflowAsync(IPage page)
    {
        var wider = await page.EvaluateAsync<string[]>(
            """
            () => document.documentElement.scrollWidth <= window.innerWidth ? [] :
              [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
                .slice(0, 5).map(e => `${e.tagName.toLowerCase()}.${e.className} (${Math.round(e.getBoundingClientRect().right)} px)`)
            """);
        wider.ShouldBeEmpty($"nothing may overflow {await page.EvaluateAsync<int>("() => window.innerWidth")} px horizontally");
    }
}
