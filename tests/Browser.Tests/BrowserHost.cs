using Microsoft.Playwright;
using Ops.Testing;

namespace Ops.Browser.Tests;

/// <summary>
/// The real Api on a loopback port and Debian's Chromium driven by Playwright (never a downloaded browser).
/// Screenshots go to TestResults/screenshots (test artifacts) and, for the README, to docs/screenshots.
/// </summary>
public class BrowserHost : OpsTestHost
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private IPlaywright? _playwright;

    protected override bool UseRealServer => true;

    public IBrowser Browser { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"Chromium is missing at {ChromiumPath}: run ./test.sh (it installs it) or `apt-get install chromium`.");
        }

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            // As root and on a closed network: no sandbox, and none of Chromium's background calls home.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
        });
    }

    public override async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }

        _playwright?.Dispose();
        await base.DisposeAsync();
    }

    public Task<IPage> DesktopPageAsync() => NewPageAsync(1280, 900);

    public Task<IPage> PhonePageAsync() => NewPageAsync(375, 812);

    private async Task<IPage> NewPageAsync(int width, int height)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = ServerAddress!.ToString(),
            ViewportSize = new ViewportSize { Width = width, Height = height },
            AcceptDownloads = true,
        });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(10_000);
        return page;
    }

    /// <summary>Signs in through the form, as a user would.</summary>
    public static async Task SignInAsync(IPage page, string apiKey)
    {
        await page.GotoAsync("/");
        await page.GetByLabel("API key").FillAsync(apiKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.GetByTestId("who").WaitForAsync();
    }

    public static async Task ScreenshotAsync(IPage page, string name)
    {
        var artifacts = Path.Combine(AppContext.BaseDirectory, "TestResults", "screenshots");
        Directory.CreateDirectory(artifacts);
        var file = Path.Combine(artifacts, $"{name}.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = file, FullPage = true });
        var docs = Path.Combine(RepositoryRoot(), "docs", "screenshots");
        Directory.CreateDirectory(docs);
        File.Copy(file, Path.Combine(docs, $"{name}.png"), overwrite: true);
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Ops.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? AppContext.BaseDirectory;
    }
}
