using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;

namespace Ops.AppHost.Provisioning;

/// <summary>
/// A private PostgreSQL cluster from the machine's own binaries, in a folder of ours, listening on a loopback
/// port with password authentication and its socket inside the folder. Used by the AppHost (kept between runs
/// in .data/postgres) and by the test suite (a throwaway cluster per test run), so every test run exercises it.
/// </summary>
public sealed class LocalPostgresCluster : IPostgresServer
{
    private const string Superuser = "postgres";
    private const string UnprivilegedAccount = "postgres";

    private readonly string _root;
    private readonly string _binDirectory;
    private readonly string? _runAs;
    private readonly LocalPostgresOptions _options;
    private readonly State _state;
    private bool _stopped;

    private LocalPostgresCluster(string root, string binDirectory, string? runAs, LocalPostgresOptions options, State state)
    {
        _root = root;
        _binDirectory = binDirectory;
        _runAs = runAs;
        _options = options;
        _state = state;
    }

    public int Port => _state.Port;

    public string DataDirectory => Path.Combine(_root, "pgdata");

    public string Description => $"PostgreSQL (local binaries in {_binDirectory}) on 127.0.0.1:{Port}, data in {_root}";

    public string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port};Username={Superuser};Password={_state.Password};Database={database};Timeout=5;Command Timeout=300";

    /// <summary>Initializes the cluster on first use, then starts it. Stops a server a crashed run left behind in this folder first.</summary>
    public static async Task<LocalPostgresCluster> StartAsync(string root, string binDirectory, LocalPostgresOptions options, Action<string> log, CancellationToken cancellationToken)
    {
        root = Path.GetFullPath(root);
        var runAs = CommandRunner.IsRoot ? UnprivilegedAccount : null;
        if (runAs is not null)
        {
            var probe = await CommandRunner.RunAsync("id", ["-u", runAs], TimeSpan.FromSeconds(10), cancellationToken: cancellationToken);
            if (!probe.Succeeded)
            {
                throw new PostgresProvisioningException(
                    $"PostgreSQL refuses to run as root and there is no '{runAs}' account to run it as. Install the postgresql package (it creates the account) or run as a normal user.");
            }
        }

        Directory.CreateDirectory(root);
        var cluster = new LocalPostgresCluster(root, binDirectory, runAs, options, LoadState(root));
        await cluster.PrepareFoldersAsync(cancellationToken);
        if (!File.Exists(Path.Combine(cluster.DataDirectory, "PG_VERSION")))
        {
            log("Initializing a new PostgreSQL cluster (first run)…");
            await cluster.InitializeAsync(cancellationToken);
        }

        if ((await cluster.PgCtlAsync(["status", "-D", cluster.DataDirectory], TimeSpan.FromSeconds(20), cancellationToken)).Succeeded)
        {
            log("A PostgreSQL server left running by an earlier run was found; stopping it first.");
            await cluster.PgCtlAsync(["stop", "-D", cluster.DataDirectory, "-m", "fast", "-w", "-t", "60"], TimeSpan.FromSeconds(90), cancellationToken);
        }

        if (!IsPortFree(cluster._state.Port))
        {
            cluster._state.Port = FreePort();
        }

        cluster.SaveState();
        await cluster.WriteRuntimeSettingsAsync(cancellationToken);
        var logFile = Path.Combine(root, "log", "postgres.log");
        var started = await cluster.PgCtlAsync(
            ["start", "-D", cluster.DataDirectory, "-l", logFile, "-w", "-t", "60"], TimeSpan.FromSeconds(90), cancellationToken);
        if (!started.Succeeded)
        {
            var tail = File.Exists(logFile) ? string.Join('\n', File.ReadLines(logFile).TakeLast(15)) : string.Empty;
            throw new PostgresProvisioningException($"PostgreSQL did not start: {started.Output.Trim()}\n{tail}");
        }

        return cluster;
    }

    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        await PgCtlAsync(["stop", "-D", DataDirectory, "-m", "fast", "-w", "-t", "60"], TimeSpan.FromSeconds(90), CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (_options.DeleteOnDispose)
        {
            try
            {
                Directory.Delete(_root, recursive: true);
            }
            catch (IOException)
            {
                // A throwaway cluster left in /tmp is harmless; never fail a shutdown over it.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    private async Task PrepareFoldersAsync(CancellationToken cancellationToken)
    {
        foreach (var folder in new[] { DataDirectory, Path.Combine(_root, "run"), Path.Combine(_root, "log") })
        {
            Directory.CreateDirectory(folder);
        }

        if (OperatingSystem.IsWindows())
        {
            return;
        }

        File.SetUnixFileMode(DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if (_runAs is not null)
        {
            // The account must be able to reach its folders: the root may be a private temp folder.
            File.SetUnixFileMode(_root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            var owner = $"{_runAs}:";
            var chown = await CommandRunner.RunAsync("chown", ["-R", owner, DataDirectory, Path.Combine(_root, "run"), Path.Combine(_root, "log")],
                TimeSpan.FromSeconds(60), cancellationToken: cancellationToken);
            if (!chown.Succeeded)
            {
                throw new PostgresProvisioningException($"Could not hand the data folder to '{_runAs}': {chown.Output.Trim()}");
            }
        }
    }

    private async Task InitializeAsync(CancellationToken cancellationToken)
    {
        var passwordFile = Path.Combine(_root, "run", ".pgpass-init");
        await File.WriteAllTextAsync(passwordFile, _state.Password, cancellationToken);
        try
        {
            if (_runAs is not null)
            {
                await CommandRunner.RunAsync("chown", [$"{_runAs}:", passwordFile], TimeSpan.FromSeconds(10), cancellationToken: cancellationToken);
            }

            var arguments = new List<string>
            {
                "-D", DataDirectory, "-U", Superuser, $"--pwfile={passwordFile}",
                "--auth-host=scram-sha-256", "--auth-local=peer", "-E", "UTF8", "--no-locale", "--no-instructions",
            };
            if (!_options.Durable)
            {
                arguments.Add("--no-sync");
            }

            var result = await CommandRunner.RunAsync(Path.Combine(_binDirectory, "initdb"), arguments, TimeSpan.FromMinutes(2), _runAs, cancellationToken);
            if (!result.Succeeded)
            {
                throw new PostgresProvisioningException($"initdb failed: {result.Output.Trim()}");
            }
        }
        finally
        {
            File.Delete(passwordFile);
        }

        await File.AppendAllTextAsync(Path.Combine(DataDirectory, "postgresql.conf"), "\n# Written by the Ops AppHost at every start.\ninclude_if_exists = 'ops.conf'\n", cancellationToken);
        SaveState();
    }

    private async Task WriteRuntimeSettingsAsync(CancellationToken cancellationToken)
    {
        var settings = new List<string>
        {
            $"port = {Port}",
            "listen_addresses = '127.0.0.1'",
            $"unix_socket_directories = '{Path.Combine(_root, "run").Replace("'", "''", StringComparison.Ordinal)}'",
            $"max_connections = {_options.MaxConnections}",
        };
        if (!_options.Durable)
        {
            // Throwaway test clusters trade crash safety for speed; the AppHost's cluster keeps the defaults.
            settings.AddRange(["fsync = off", "synchronous_commit = off", "full_page_writes = off"]);
        }

        settings.AddRange(_options.ExtraSettings);
        var file = Path.Combine(DataDirectory, "ops.conf");
        await File.WriteAllLinesAsync(file, settings, cancellationToken);
        if (_runAs is not null)
        {
            await CommandRunner.RunAsync("chown", [$"{_runAs}:", file], TimeSpan.FromSeconds(10), cancellationToken: cancellationToken);
        }
    }

    private Task<CommandRunner.Result> PgCtlAsync(IEnumerable<string> arguments, TimeSpan timeout, CancellationToken cancellationToken) =>
        CommandRunner.RunAsync(Path.Combine(_binDirectory, "pg_ctl"), arguments, timeout, _runAs, cancellationToken);

    private static bool IsPortFree(int port)
    {
        if (port <= 0)
        {
            return false;
        }

        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private string StateFile => Path.Combine(_root, "cluster.json");

    private static State LoadState(string root)
    {
        var file = Path.Combine(root, "cluster.json");
        if (File.Exists(file))
        {
            var state = JsonSerializer.Deserialize<State>(File.ReadAllText(file));
            if (state is not null && !string.IsNullOrEmpty(state.Password))
            {
                return state;
            }
        }

        return new State { Password = RandomNumberGenerator.GetHexString(32, lowercase: true), Port = 0 };
    }

    private void SaveState()
    {
        File.WriteAllText(StateFile, JsonSerializer.Serialize(_state));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(StateFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    private sealed class State
    {
        public string Password { get; set; } = string.Empty;

        public int Port { get; set; }
    }
}

public sealed record LocalPostgresOptions
{
    /// <summary>False for throwaway test clusters: no fsync, much faster.</summary>
    public bool Durable { get; init; } = true;

    public bool DeleteOnDispose { get; init; }

    public int MaxConnections { get; init; } = 200;

    /// <summary>Further postgresql.conf lines (e.g. memory settings for benchmarks).</summary>
    public IReadOnlyList<string> ExtraSettings { get; init; } = [];
}

public sealed class PostgresProvisioningException(string message) : Exception(message);
