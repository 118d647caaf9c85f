using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Npgsql;
using Ops.Benchmarks.Infrastructure;
using Ops.Benchmarks.Suites.Usage;

namespace Ops.Benchmarks.Suites.Dashboard;

/// <summary>
/// The dashboard's first load with a large usage table: Debian's Chromium (Playwright) opens the Overview signed in
/// with a read key, cold (new browser context: empty cache) and warm (reload), and measures the time from navigation
/// start until the four cards are on screen and interactive, and the bytes transferred (Resource Timing), assets
/// apart from API calls. Baseline in the same run: the Overview's own API call (GET /v1/dashboard/stats) from .NET,
/// and the Usage page (Chart.js, eight API calls) the same way.
/// Options: --events 10000000 --runs 7 --load http|copy. http (default): through the ingestion endpoint with
/// --concurrency 4 clients, timestamps = receive time. copy: binary COPY into usage.events with timestamps spread over
/// --days 2, then the Api's fold (spreading over many days multiplies the rollup keys: the fold then dominates).
/// </summary>
public sealed class DashboardLoadSuite : IBenchSuite
{
    private const string ChromiumPath = "/usr/bin/chromium";

    public string Name => "dashboard-load";

    public string Title => "Dashboard: first load of the Overview (time to interactive, transferred bytes)";

    public async Task<string> RunAsync(BenchContext context, CancellationToken cancellationToken)
    {
        var events = context.IntOption("events", 10_000_000);
        var runs = context.IntOption("runs", 7);
        var concurrency = context.IntOption("concurrency", 4);
        var days = context.IntOption("days", 2);
        var load = context.Options.GetValueOrDefault("load", "http");
        var cluster = await context.PostgresAsync();
        var connectionString = await context.CreateDatabaseAsync("dashboard_load");
        await using var server = await ApiServer.StartAsync(connectionString);

        var ingestKey = await UsageIngestSuite.CreateIngestKeyAsync(server, "bench");
        var readKey = await CreateReadKeyAsync(server, "bench");
        var loading = Stopwatch.StartNew();
        var templates = new UsageEventTemplates(64, 1000, users: 5_000, seed: 7);
        await using (var dataSource = NpgsqlDataSource.Create(connectionString))
        {
            if (load == "http")
            {
                var result = await IngestLoad.RunAsync(server, cluster.DataDirectory, ingestKey, templates, "d", concurrency, TimeSpan.FromHours(6),
                    () => UsageIngestSuite.RolledUpAsync(dataSource, "bench"), maxEvents: events);
                events = (int)result.Accepted;
            }
            else
            {
                events = (int)await CopyLoad.LoadAsync(connectionString, "bench", templates, events, days);
                while (await UsageIngestSuite.RolledUpAsync(dataSource, "bench") < events)
                {
                    await Task.Delay(500, cancellationToken);
                }
            }

            Console.WriteLine($"loaded and folded {events:N0} events in {loading.Elapsed.TotalSeconds:N0} s ({load})");
        }

        using var read = server.CreateClient(readKey);
        var statsMs = new List<double>();
        for (var i = 0; i < runs + 1; i++)
        {
            var started = Stopwatch.GetTimestamp();
            using var response = await read.GetAsync("/v1/dashboard/stats", cancellationToken);
            await response.Content.ReadAsByteArrayAsync(cancellationToken);
            response.EnsureSuccessStatusCode();
            if (i > 0)
            {
                statsMs.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
        });

        var overviewCold = new List<PageLoad>();
        var overviewWarm = new List<PageLoad>();
        var usageCold = new List<PageLoad>();
        await MeasureAsync(browser, server.BaseAddress, readKey, "/", "[data-testid=value-dau]", null); // warm-up: JIT and database caches
        for (var i = 0; i < runs; i++)
        {
            overviewCold.Add(await MeasureAsync(browser, server.BaseAddress, readKey, "/", "[data-testid=value-dau]", null));
            overviewWarm.Add(await MeasureAsync(browser, server.BaseAddress, readKey, "/", "[data-testid=value-dau]", reload: true));
            usageCold.Add(await MeasureAsync(browser, server.BaseAddress, readKey, "/#/usage", "[data-testid=summary-cost-value]", null));
        }

        static double Median(IEnumerable<double> values)
        {
            var sorted = values.Order().ToArray();
            return sorted[sorted.Length / 2];
        }

        string Row(string name, List<PageLoad> loads) =>
            string.Create(CultureInfo.InvariantCulture,
                $"| {name} | **{Median(loads.Select(l => l.InteractiveMs)):N0}** | {loads.Max(l => l.InteractiveMs):N0} | {Median(loads.Select(l => l.AssetBytes)) / 1024:N1} KB | {Median(loads.Select(l => l.ApiBytes)) / 1024:N1} KB | {loads[0].Requests} |");

        var statsMedian = Median(statsMs);
        var overviewMedian = Median(overviewCold.Select(l => l.InteractiveMs));
        return new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"{events:N0} usage events (5,000 users, 3 models, 20 agents, 3 channels), loaded by {(load == "http" ? "HTTP ingestion" : $"binary COPY into `usage.events` (spread over {days} days)")} and folded into the rollups by the Api; the Api a Release process on loopback; Debian Chromium headless through Playwright; {runs} runs each, after one warm-up. *Interactive*: from navigation start until the page's cards are in the DOM, stamped in the page by a MutationObserver (Preact renders and attaches handlers in the same task). *Assets*: HTML, JS and CSS bytes transferred (Resource Timing `transferSize`, headers included; assets are served Brotli-compressed from files made at build time); *API*: the JSON calls (the live stream excluded). Target: the Overview interactive in under 1 s.")
            .AppendLine()
            .AppendLine("| Page load | Interactive, median ms | max ms | Assets transferred | API transferred | Requests |")
            .AppendLine("|---|---:|---:|---:|---:|---:|")
            .AppendLine(Row("Overview, first load (cold cache)", overviewCold))
            .AppendLine(Row("Overview, reload (cached assets)", overviewWarm))
            .AppendLine(Row("Usage page, first load (Chart.js chunk, 8 API calls)", usageCold))
            .AppendLine(string.Create(CultureInfo.InvariantCulture, $"| (baseline) `GET /v1/dashboard/stats` from .NET, the Overview's only data call | {statsMedian:N1} | {statsMs.Max():N1} | – | – | 1 |"))
            .AppendLine()
            .AppendLine(string.Create(CultureInfo.InvariantCulture, $"The Overview's first load spends {statsMedian:N0} ms of its {overviewMedian:N0} ms in the stats query; the rest is fetching and running {Median(overviewCold.Select(l => l.AssetBytes)) / 1024:N0} KB of assets (Preact and the Overview; Chart.js is a separate chunk loaded only by the Usage page) and the `/v1/me` check, which runs alongside the stats call."))
            .ToString();
    }

    private sealed record PageLoad(double InteractiveMs, double AssetBytes, double ApiBytes, int Requests);

    private static async Task<PageLoad> MeasureAsync(IBrowser browser, Uri baseAddress, string readKey, string path, string readySelector, bool? reload)
    {
        await using var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = baseAddress.ToString(), ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        await context.AddInitScriptAsync($"sessionStorage.setItem('ops.api_key', {System.Text.Json.JsonSerializer.Serialize(readKey)});");
        // Stamps the moment the ready element first exists, inside the page (no polling delay in the figure).
        await context.AddInitScriptAsync(
            $$"""
            window.__ready = null;
            new MutationObserver((_, observer) => {
              if (document.querySelector({{System.Text.Json.JsonSerializer.Serialize(readySelector)}})) { window.__ready = performance.now(); observer.disconnect(); }
            }).observe(document, { childList: true, subtree: true });
            """);
        var page = await context.NewPageAsync();
        await page.GotoAsync(path);
        await page.WaitForSelectorAsync(readySelector, new() { Timeout = 60_000 });
        if (reload == true)
        {
            await page.ReloadAsync();
            await page.WaitForSelectorAsync(readySelector, new() { Timeout = 60_000 });
        }

        var interactive = await page.EvaluateAsync<double>("() => window.__ready");
        var sizes = await page.EvaluateAsync<double[]>(
            """
            () => {
              const nav = performance.getEntriesByType('navigation')[0];
              const resources = performance.getEntriesByType('resource').filter(r => !r.name.includes('/v1/usage/stream'));
              const api = resources.filter(r => new URL(r.name).pathname.startsWith('/v1/'));
              const assets = resources.filter(r => !new URL(r.name).pathname.startsWith('/v1/'));
              const sum = list => list.reduce((total, r) => total + r.transferSize, 0);
              return [(nav ? nav.transferSize : 0) + sum(assets), sum(api), resources.length + 1];
            }
            """);
        return new PageLoad(interactive, sizes[0], sizes[1], (int)sizes[2]);
    }

    private static async Task<string> CreateReadKeyAsync(ApiServer server, string tenantId)
    {
        using var admin = server.CreateClient(ApiServer.AdminKey);
        var response = await admin.PostAsJsonAsync("/v1/admin/keys", new { tenant_id = tenantId, name = "dashboard", roles = new[] { "read" } });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["key"]!.GetValue<string>();
    }
}
