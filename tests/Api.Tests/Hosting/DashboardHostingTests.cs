using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Ops.Testing;
using Shouldly;
using Xunit;

namespace Ops.Api.Tests.Hosting;

public sealed partial class DashboardHostingTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    [Fact]
    public async Task The_page_is_never_cached_and_locked_down_and_its_assets_are_immutable_and_precompressed()
    {
        var client = host.CreateClient();
        var page = await client.GetAsync("/");
        page.StatusCode.ShouldBe(HttpStatusCode.OK);
        page.Content.Headers.ContentType!.MediaType.ShouldBe("text/html");
        page.Headers.CacheControl!.NoCache.ShouldBeTrue();
        page.Headers.GetValues("Content-Security-Policy").Single().ShouldContain("script-src 'self'");
        var html = await page.Content.ReadAsStringAsync();
        var script = ScriptPath().Match(html).Groups[1].Value;
        script.ShouldStartWith("/assets/");

        var plain = await client.GetAsync(script);
        plain.Content.Headers.ContentEncoding.ShouldBeEmpty();
        plain.Headers.CacheControl!.ToString().ShouldContain("immutable");
        var identity = await plain.Content.ReadAsByteArrayAsync();

        foreach (var encoding in new[] { "br", "gzip" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, script);
            request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue(encoding));
            var compressed = await client.SendAsync(request);
            compressed.StatusCode.ShouldBe(HttpStatusCode.OK);
            compressed.Content.Headers.ContentEncoding.ShouldBe([encoding]);
            compressed.Content.Headers.ContentType!.MediaType.ShouldBe("text/javascript");
            compressed.Headers.Vary.ShouldContain("Accept-Encoding");
            var body = await compressed.Content.ReadAsByteArrayAsync();
            body.Length.ShouldBeLessThan(identity.Length);
            await using Stream decoder = encoding == "br"
                ? new BrotliStream(new MemoryStream(body), CompressionMode.Decompress)
                : new GZipStream(new MemoryStream(body), CompressionMode.Decompress);
            using var decoded = new MemoryStream();
            await decoder.CopyToAsync(decoded);
            decoded.ToArray().ShouldBe(identity);
        }

        using var refused = new HttpRequestMessage(HttpMethod.Get, script);
        refused.Headers.AcceptEncoding.ParseAdd("br;q=0");
        (await client.SendAsync(refused)).Content.Headers.ContentEncoding.ShouldBeEmpty();
    }

    [GeneratedRegex("<script type=\"module\" crossorigin src=\"([^\"]+)\"")]
    private static partial Regex ScriptPath();
}
