using System.Diagnostics;
using Dapper;
using Npgsql;
using Ops.Testing;
using Shouldly;
using Xunit;

namespace Ops.Api.Tests.Hosting;

/// <summary>`Ops.Api --migrate-only`, as a deployment runs it: a real process, a real database.</summary>
public sealed class MigrateOnlyTests
{
    [Fact]
    public async Task Migrate_only_migrates_and_exits_zero()
    {
        var connectionString = await TestPostgres.CreateEmptyDatabaseAsync();
        var (exitCode, output) = await RunApiAsync(connectionString, "--migrate-only");
        exitCode.ShouldBe(0, output);

        await using var connection = new NpgsqlConnection(connectionString);
        (await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'")).ShouldBe(5);

        // Again: nothing to do, still success.
        (await RunApiAsync(connectionString, "--migrate-only")).ExitCode.ShouldBe(0);
    }

    [Fact]
    public async Task An_unreachable_database_stops_start_up_with_a_clear_message()
    {
        var (exitCode, output) = await RunApiAsync(
            $"Host=127.0.0.1;Port={Ops.AppHost.Provisioning.LocalPostgresCluster.FreePort()};Username=x;Password=y;Database=z;Timeout=2", "--migrate-only");
        exitCode.ShouldNotBe(0);
        output.ShouldContain("Start-up stopped");
        output.ShouldContain("cannot be reached");
    }

    private static async Task<(int ExitCode, string Output)> RunApiAsync(string connectionString, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Ops.Api.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["ConnectionStrings__opsdb"] = connectionString;
        start.Environment["Ops__BootstrapAdminKey"] = TestKeys.Bootstrap;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
