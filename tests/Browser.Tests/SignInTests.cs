using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using Shouldly;
using Xunit;

namespace Ops.Browser.Tests;

public sealed class SignInTests(BrowserHost host) : IClassFixture<BrowserHost>
{
    [Fact]
    public async Task A_bad_key_gets_a_clear_message_and_a_read_key_signs_in_read_only()
    {
        var tenant = await host.CreateTenantAsync();
        var page = await host.DesktopPageAsync();
        await page.GotoAsync("/");
        await BrowserHost.ScreenshotAsync(page, "signin-desktop");

        await page.GetByLabel("API key").FillAsync("ops_nosuchkey_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        (await page.GetByRole(AriaRole.Alert).InnerTextAsync()).ShouldContain("not accepted");

        await page.GetByLabel("API key").FillAsync(tenant.IngestKey.Key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        (await page.GetByRole(AriaRole.Alert).InnerTextAsync()).ShouldContain("only send events");

        await BrowserHost.SignInAsync(page, tenant.ReadKey.Key);
        (await page.GetByTestId("who").InnerTextAsync()).ShouldContain(tenant.Id);
        (await page.GetByTestId("who").InnerTextAsync()).ShouldContain("read-only");

        // The key lives in this tab's session only: a new browser context starts signed out.
        var other = await host.DesktopPageAsync();
        await other.GotoAsync("/");
        (await other.GetByLabel("API key").IsVisibleAsync()).ShouldBeTrue();
    }

    [Fact]
    public async Task The_sign_in_page_has_no_serious_accessibility_violations_and_fits_a_phone()
    {
        var page = await host.PhonePageAsync();
        await page.GotoAsync("/");
        await page.GetByLabel("API key").WaitForAsync();
        await BrowserHost.ScreenshotAsync(page, "signin-phone");

        var results = await page.RunAxe();
        var serious = results.Violations.Where(v => v.Impact is "serious" or "critical").Select(v => $"{v.Id}: {v.Help}").ToList();
        serious.ShouldBeEmpty();

        var overflow = await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth > window.innerWidth");
        overflow.ShouldBeFalse();
    }
}
