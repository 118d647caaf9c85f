using System.Security.Cryptography;

namespace Ops.AppHost.Provisioning;

/// <summary>
/// Postgres in a Docker container, for machines with a Docker engine: a named volume keeps the data between
/// runs, the port is published on loopback only.
/// </summary>
public sealed class DockerPostgres : IPostgresServer
{
    private const string Image = "postgres:15";
    private readonly string _container;
    private readonly string _password;
    private readonly int _port;

    private DockerPostgres(string container, string password, int port)
    {
        _container = container;
        _password = password;
        _port = port;
    }

    public string Description => $"PostgreSQL in Docker container {_container} ({Image}) on 127.0.0.1:{_port}";

    public string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={_port};Username=postgres;Password={_password};Database={database};Timeout=5;Command Timeout=300";

    public static async Task<bool> IsAvailableAsync(CancellationToken cancellationToken)
    {
        var info = await CommandRunner.RunAsync("docker", ["info", "--format", "{{.ServerVersion}}"], TimeSpan.FromSeconds(5), cancellationToken: cancellationToken);
        return info.Succeeded;
    }

    public static async Task<DockerPostgres> StartAsync(string root, Action<string> log, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(root);
        var suffix = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Path.GetFullPath(root))))[..10];
        var container = $"ops-postgres-{suffix}";
        var passwordFile = Path.Combine(root, "docker-password");
        if (!File.Exists(passwordFile))
        {
            await File.WriteAllTextAsync(passwordFile, RandomNumberGenerator.GetHexString(32, lowercase: true), cancellationToken);
        }

        var password = (await File.ReadAllTextAsync(passwordFile, cancellationToken)).Trim();
        await CommandRunner.RunAsync("docker", ["rm", "-f", container], TimeSpan.FromSeconds(30), cancellationToken: cancellationToken);
        log($"Starting {Image} in Docker…");
        var run = await CommandRunner.RunAsync("docker",
            ["run", "-d", "--name", container, "-e", $"POSTGRES_PASSWORD={password}", "-p", "127.0.0.1::5432", "-v", $"{container}:/var/lib/postgresql/data", Image],
            TimeSpan.FromMinutes(10), cancellationToken: cancellationToken);
        if (!run.Succeeded)
        {
            throw new PostgresProvisioningException($"docker run failed: {run.Output.Trim()}");
        }

        var port = await CommandRunner.RunAsync("docker", ["port", container, "5432/tcp"], TimeSpan.FromSeconds(30), cancellationToken: cancellationToken);
        var mapping = port.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? string.Empty;
        if (!port.Succeeded || !int.TryParse(mapping[(mapping.LastIndexOf(':') + 1)..].Trim(), out var hostPort))
        {
            throw new PostgresProvisioningException($"Could not read the published port of {container}: {port.Output.Trim()}");
        }

        var server = new DockerPostgres(container, password, hostPort);
        await PostgresDatabases.WaitUntilReadyAsync(server, TimeSpan.FromSeconds(90), cancellationToken);
        return server;
    }

    public async Task StopAsync()
    {
        await CommandRunner.RunAsync("docker", ["stop", _container], TimeSpan.FromSeconds(60));
        await CommandRunner.RunAsync("docker", ["rm", _container], TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
