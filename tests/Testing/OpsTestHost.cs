using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Shouldly;
using Xunit;

namespace Ops.Testing;

/// <summary>
/// A test class's world: its own fresh database, the real Api over it, a fake clock, and clients holding keys
/// of each role. Use as <c>IClassFixture&lt;OpsTestHost&gt;</c>.
/// </summary>
public class OpsTestHost : IAsyncLifetime
{
    /// <summary>Tests start on a fixed, DST-free UTC instant so expected numbers never depend on the real date.</summary>
    public static readonly DateTimeOffset Epoch = new(2026, 5, 18, 12, 0, 0, TimeSpan.Zero);

    private OpsApiFactory? _factory;
    private int _tenantCounter;

    public FakeTimeProvider Time { get; } = new(Epoch);

    public OpsApiFactory Factory => _factory ?? throw new InvalidOperationException("The host is not started yet.");

    public string ConnectionString { get; private set; } = string.Empty;

    /// <summary>The platform admin (bootstrap) key's client.</summary>
    public HttpClient Platform { get; private set; } = null!;

    protected virtual IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>();

    /// <summary>True to serve over Kestrel on a loopback port (for a real browser) instead of the in-memory test server.</summary>
    protected virtual bool UseRealServer => false;

    /// <summary>The loopback address of the real server when <see cref="UseRealServer"/> is on.</summary>
    public Uri? ServerAddress { get; private set; }

    public virtual async Task InitializeAsync()
    {
        ConnectionString = await TestPostgres.CreateDatabaseAsync();
        _factory = new OpsApiFactory(ConnectionString, Time, Settings);
        if (UseRealServer)
        {
            _factory.UseKestrel(0);
            _factory.StartServer();
            var addresses = _factory.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
                .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses;
            ServerAddress = new Uri(addresses.First().Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("localhost", "127.0.0.1", StringComparison.Ordinal));
        }

        Platform = CreateClient(TestKeys.Bootstrap);
    }

    public virtual async Task DisposeAsync()
    {
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }
    }

    /// <summary>A second Api instance on the same database (as in a multi-instance deployment).</summary>
    public OpsApiFactory CreateSecondInstance() => new(ConnectionString, Time, Settings);

    public HttpClient CreateClient(string? apiKey = null, OpsApiFactory? instance = null)
    {
        var client = (instance ?? Factory).CreateClient();
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return client;
    }

    /// <summary>Creates a tenant with an admin, a read and an ingest key.</summary>
    public async Task<TestTenant> CreateTenantAsync(string? id = null)
    {
        id ??= $"tenant-{Interlocked.Increment(ref _tenantCounter)}";
        var created = await Platform.PostAsJsonAsync("/v1/admin/tenants", new { id, name = $"Tenant {id}" });
        created.StatusCode.ShouldBe(System.Net.HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var admin = await CreateKeyAsync(id, "admin");
        var read = await CreateKeyAsync(id, "read");
        var ingest = await CreateKeyAsync(id, "ingest");
        return new TestTenant(id, CreateClient(admin.Key), CreateClient(read.Key), CreateClient(ingest.Key), admin, read, ingest);
    }

    public async Task<CreatedKey> CreateKeyAsync(string tenantId, params string[] roles)
    {
        var response = await Platform.PostAsJsonAsync("/v1/admin/keys", new { tenant_id = tenantId, name = $"{string.Join('+', roles)} key", roles });
        response.StatusCode.ShouldBe(System.Net.HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        return new CreatedKey(Guid.Parse(body!["id"]!.GetValue<string>()), body["key"]!.GetValue<string>(), body["prefix"]!.GetValue<string>());
    }
}

public sealed record CreatedKey(Guid Id, string Key, string Prefix);

public sealed record TestTenant(string Id, HttpClient Admin, HttpClient Read, HttpClient Ingest, CreatedKey AdminKey, CreatedKey ReadKey, CreatedKey IngestKey);

public static class HttpAssertions
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Asserts the status and returns the body as JSON (or null for an empty body).</summary>
    public static async Task<JsonNode?> ShouldHaveStatusAsync(this HttpResponseMessage response, System.Net.HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(status, text);
        return string.IsNullOrWhiteSpace(text) ? null : JsonNode.Parse(text);
    }

    /// <summary>Asserts an RFC 9457 problem with this status, and that it names <paramref name="field"/> when given.</summary>
    public static async Task<JsonNode> ShouldBeProblemAsync(this HttpResponseMessage response, System.Net.HttpStatusCode status, string? field = null)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(status, text);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json", text);
        var problem = JsonNode.Parse(text)!;
        problem["status"]!.GetValue<int>().ShouldBe((int)status);
        if (field is not null)
        {
            var names = problem["errors"]?.AsArray().Select(e => e!["name"]!.GetValue<string>()).ToList() ?? [];
            names.ShouldContain(field, $"the problem should name '{field}': {text}");
        }

        return problem;
    }
}
