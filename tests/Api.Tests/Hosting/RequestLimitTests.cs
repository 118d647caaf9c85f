using System.Net;
using System.Text;
using Ops.Testing;
using Xunit;

namespace Ops.Api.Tests.Hosting;

public sealed class RequestLimitTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    [Fact]
    public Task A_body_over_the_host_limit_gets_413_problem_details() => AssertTooLargeAsync(host.Platform);

    [Fact]
    public async Task Unknown_routes_get_404_problem_details()
    {
        await (await host.Platform.GetAsync("/v1/no-such-thing")).ShouldBeProblemAsync(HttpStatusCode.NotFound);
    }

    internal static async Task AssertTooLargeAsync(HttpClient client)
    {
        // Just over the 1 MiB limit: a real server answers before reading everything, and a small overshoot fits in
        // the socket buffers, so the client is never cut off mid-send (which would hide the 413 behind a broken pipe).
        var huge = "{\"id\":\"x\",\"name\":\"" + new string('a', (1024 * 1024) + (16 * 1024)) + "\"}";
        using var content = new StringContent(huge, Encoding.UTF8, "application/json");
        using var declared = new HttpRequestMessage(HttpMethod.Post, "/v1/admin/tenants") { Content = content };
        declared.Headers.ExpectContinue = true; // the server may refuse on the declared length before the body is sent
        await (await client.SendAsync(declared)).ShouldBeProblemAsync(HttpStatusCode.RequestEntityTooLarge);

        // Without a declared length (chunked), the limit still holds while reading.
        using var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(huge)));
        chunked.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/admin/tenants") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        await (await client.SendAsync(request)).ShouldBeProblemAsync(HttpStatusCode.RequestEntityTooLarge);
    }
}

/// <summary>The same limit on Kestrel, the server production runs.</summary>
public sealed class KestrelRequestLimitTests(KestrelRequestLimitTests.KestrelHost host) : IClassFixture<KestrelRequestLimitTests.KestrelHost>
{
    [Fact]
    public Task A_body_over_the_host_limit_gets_413_problem_details_on_kestrel() => RequestLimitTests.AssertTooLargeAsync(host.Platform);

    public sealed class KestrelHost : OpsTestHost
    {
        protected override bool UseRealServer => true;
    }
}
