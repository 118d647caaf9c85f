using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Ops.Modules.Shared.Data;
using Ops.Testing;
using Shouldly;
using Xunit;

namespace Ops.Api.Tests.Hosting;

public sealed class MigrationTests
{
    private static readonly string[] ModuleSchemas = ["identity", "audit", "usage", "killswitch", "alerts"];

    [Fact]
    public async Task A_fresh_database_gets_every_module_schema_with_its_own_version_table()
    {
        var connectionString = await TestPostgres.CreateEmptyDatabaseAsync();
        await using var factory = new OpsApiFactory(connectionString);
        _ = factory.Services; // start-up runs the migrations

        await using var connection = new NpgsqlConnection(connectionString);
        var versionTables = (await connection.QueryAsync<string>(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'schema_version'")).ToList();
        versionTables.ShouldBe(ModuleSchemas, ignoreOrder: true);
        foreach (var schema in ModuleSchemas)
        {
            var applied = await connection.ExecuteScalarAsync<long>($"SELECT count(*) FROM \"{schema}\".schema_version");
            applied.ShouldBeGreaterThan(0, $"schema {schema} has no applied migration");
        }
    }

    [Fact]
    public async Task Running_the_migrations_again_changes_nothing()
    {
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        await using var factory = new OpsApiFactory(connectionString);
        await using var connection = new NpgsqlConnection(connectionString);
        var before = await SnapshotAsync(connection);

        await factory.Services.GetRequiredService<ModuleMigrator>().MigrateAllAsync(CancellationToken.None);
        await using (var restarted = new OpsApiFactory(connectionString))
        {
            _ = restarted.Services;
        }

        (await SnapshotAsync(connection)).ShouldBe(before);
    }

    private static async Task<List<string>> SnapshotAsync(NpgsqlConnection connection)
    {
        var rows = new List<string>();
        foreach (var schema in ModuleSchemas)
        {
            rows.AddRange(await connection.QueryAsync<string>(
                $"SELECT '{schema}:' || version || ':' || applied_on::text FROM \"{schema}\".schema_version ORDER BY version"));
        }

        rows.AddRange(await connection.QueryAsync<string>(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE table_schema = ANY(@schemas) ORDER BY 1",
            new { schemas = ModuleSchemas }));
        return rows;
    }
}
