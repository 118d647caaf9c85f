using System.Net;
using Dapper;
using Npgsql;
using Ops.Testing;
using Shouldly;
using Xunit;

namespace Ops.Api.Tests.Hosting;

public sealed class HealthTests
{
    [Fact]
    public async Task Health_is_ready_with_the_database_and_unready_without_it_while_alive_stays_up()
    {
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        var database = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        await using var factory = new OpsApiFactory(connectionString);
        var client = factory.CreateClient();

        var healthy = (await (await client.GetAsync("/health")).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        healthy["status"]!.GetValue<string>().ShouldBe("healthy");
        healthy["checks"]!["postgres"]!.GetValue<string>().ShouldBe("healthy");

        await using (var admin = await TestPostgres.OpenAdminConnectionAsync())
        {
            await admin.ExecuteAsync($"ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS false");
            await admin.ExecuteAsync("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = @database", new { database });
        }

        try
        {
            NpgsqlConnection.ClearAllPools();
            var down = (await (await client.GetAsync("/health")).ShouldHaveStatusAsync(HttpStatusCode.ServiceUnavailable))!;
            down["status"]!.GetValue<string>().ShouldBe("unhealthy");
            down["checks"]!["postgres"]!.GetValue<string>().ShouldBe("unhealthy");
            (await client.GetAsync("/alive")).StatusCode.ShouldBe(HttpStatusCode.OK);
        }
        finally
        {
            await using var admin = await TestPostgres.OpenAdminConnectionAsync();
            await admin.ExecuteAsync($"ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS true");
        }

        NpgsqlConnection.ClearAllPools();
        (await client.GetAsync("/health")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Metrics_are_exposed_in_prometheus_format()
    {
        await using var factory = new OpsApiFactory(await TestPostgres.CreateDatabaseAsync());
        var client = factory.CreateClient();
        await client.GetAsync("/health");
        var response = await client.GetAsync("/metrics");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("text/plain");
        (await response.Content.ReadAsStringAsync()).ShouldContain("# TYPE");
    }
}
