using System.Reflection;
using System.Runtime.InteropServices;
using Ops.AppHost.Provisioning;

namespace Ops.AppHost;

/// <summary>
/// `dotnet run --project src/AppHost`: the local orchestrator playing the .NET Aspire AppHost's role (no
/// Aspire package restores here). Provides Postgres, starts the Api with the Aspire configuration contract,
/// prints the URLs, and on Ctrl+C / SIGTERM stops the Api, then Postgres.
/// </summary>
internal static class Program
{
    private const string DatabaseName = "opsdb";
    private const int DefaultApiPort = 5080;

    public static async Task<int> Main(string[] args)
    {
        using var stopping = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

        var options = AppHostOptions.Parse(args);
        Directory.CreateDirectory(options.DataDirectory);

        // One AppHost per data folder: a second one would start a second postmaster on the same cluster.
        FileStream instanceLock;
        var lockPath = Path.Combine(options.DataDirectory, "apphost.lock");
        try
        {
            instanceLock = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            var pidPath = Path.Combine(options.DataDirectory, "apphost.pid");
            var holder = File.Exists(pidPath) ? File.ReadAllText(pidPath).Trim() : "?";
            Log($"Another AppHost (pid {holder}) is already running with the data folder {options.DataDirectory}. Stop it first (Ctrl+C in its terminal), or use another folder with OPS_DATA_DIR.");
            return 2;
        }

        await using (instanceLock)
        {
            // The lock file itself cannot be read by a second instance, so the holder's pid goes beside it.
            await File.WriteAllTextAsync(Path.Combine(options.DataDirectory, "apphost.pid"), Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return await RunAsync(options, stopping.Token);
        }

        void OnSignal(PosixSignalContext context)
        {
            // Take over the default (immediate exit) so the children are stopped in order.
            context.Cancel = true;
            if (!stopping.IsCancellationRequested)
            {
                Log("Stopping…");
                stopping.Cancel();
            }
        }
    }

    private static async Task<int> RunAsync(AppHostOptions options, CancellationToken stopping)
    {
        Log($"AppHost pid {Environment.ProcessId}");
        IPostgresServer? postgres = null;
        string connectionString;
        var firstRun = false;
        try
        {
            var external = Environment.GetEnvironmentVariable("ConnectionStrings__opsdb");
            if (!string.IsNullOrWhiteSpace(external))
            {
                Log("Using the database from ConnectionStrings__opsdb.");
                connectionString = external;
            }
            else
            {
                postgres = await ProvidePostgresAsync(options, stopping);
                Log(postgres.Description);
                firstRun = await PostgresDatabases.EnsureAsync(postgres, DatabaseName, stopping);
                connectionString = postgres.ConnectionString(DatabaseName);
            }
        }
        catch (PostgresProvisioningException ex)
        {
            Log(ex.Message);
            if (postgres is not null)
            {
                await postgres.DisposeAsync();
            }

            return 1;
        }
        catch (OperationCanceledException)
        {
            if (postgres is not null)
            {
                await postgres.DisposeAsync();
            }

            return 0;
        }

        try
        {
            return await RunApiAsync(options, connectionString, firstRun, stopping);
        }
        finally
        {
            if (postgres is not null)
            {
                Log("Stopping PostgreSQL…");
                await postgres.DisposeAsync();
                Log("Stopped.");
            }
        }
    }

    private static async Task<IPostgresServer> ProvidePostgresAsync(AppHostOptions options, CancellationToken stopping)
    {
        if (!options.SkipDocker && await DockerPostgres.IsAvailableAsync(stopping))
        {
            return await DockerPostgres.StartAsync(Path.Combine(options.DataDirectory, "docker"), Log, stopping);
        }

        var binaries = PostgresBinaries.FindBinDirectory()
            ?? throw new PostgresProvisioningException(
                "No PostgreSQL found. Install the PostgreSQL server (Debian/Ubuntu: `apt-get install postgresql`; macOS: `brew install postgresql@15`), " +
                "start a Docker engine, or point ConnectionStrings__opsdb at an existing database.");
        return await LocalPostgresCluster.StartAsync(Path.Combine(options.DataDirectory, "postgres"), binaries, new LocalPostgresOptions(), Log, stopping);
    }

    private static async Task<int> RunApiAsync(AppHostOptions options, string connectionString, bool firstRun, CancellationToken stopping)
    {
        var port = options.ApiPort ?? (IsPortFree(DefaultApiPort) ? DefaultApiPort : LocalPostgresCluster.FreePort());
        var baseUrl = $"http://127.0.0.1:{port}";
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__opsdb"] = connectionString,
            ["ASPNETCORE_ENVIRONMENT"] = Environment.GetEnvironmentVariable("ASPNETCORE_ENVIRONMENT") ?? "Development",
            ["OTEL_SERVICE_NAME"] = "ops-api",
            ["OPS_APPHOST_PID"] = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        string? bootstrapKey = null;
        if (firstRun && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("Ops__BootstrapAdminKey")))
        {
            bootstrapKey = BootstrapKey.Generate();
            environment["Ops__BootstrapAdminKey"] = bootstrapKey;
        }

        await using var api = ApiProcess.Start(baseUrl, environment);
        Log($"Api pid {api.Id}, starting on {baseUrl}…");
        if (!await WaitForHealthAsync(api, baseUrl, stopping))
        {
            if (stopping.IsCancellationRequested)
            {
                return 0;
            }

            Log(api.HasExited
                ? $"The Api exited during start-up (exit code {api.ExitCode}); see the [api] lines above."
                : "The Api did not become healthy within 2 minutes; see the [api] lines above.");
            return 1;
        }

        Console.WriteLine();
        Log("Ops is running.");
        Console.WriteLine($"  Dashboard:  {baseUrl}/");
        Console.WriteLine($"  API docs:   {baseUrl}/scalar");
        Console.WriteLine($"  OpenAPI:    {baseUrl}/openapi/v1.json");
        Console.WriteLine($"  Health:     {baseUrl}/health");
        if (bootstrapKey is not null)
        {
            Console.WriteLine($"  Bootstrap admin API key (shown only this once, store it now): {bootstrapKey}");
        }

        Console.WriteLine();
        Log("Press Ctrl+C to stop.");

        var exited = api.WaitForExitAsync(CancellationToken.None);
        var stopRequested = Task.Delay(Timeout.Infinite, stopping);
        if (await Task.WhenAny(exited, stopRequested) == exited)
        {
            Log($"The Api exited unexpectedly (exit code {api.ExitCode}). PostgreSQL is still running; press Ctrl+C to stop it.");
            try
            {
                await stopRequested;
            }
            catch (OperationCanceledException)
            {
            }

            return 1;
        }

        Log("Stopping the Api…");
        await api.StopAsync(TimeSpan.FromSeconds(15));
        return 0;
    }

    private static async Task<bool> WaitForHealthAsync(ApiProcess api, string baseUrl, CancellationToken stopping)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (DateTime.UtcNow < deadline && !stopping.IsCancellationRequested && !api.HasExited)
        {
            try
            {
                using var response = await http.GetAsync(new Uri($"{baseUrl}/health"), stopping);
                if (response.IsSuccessStatusCode)
                {
                    return true;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!stopping.IsCancellationRequested)
            {
            }
            catch (OperationCanceledException)
            {
                return false;
            }

            try
            {
                await Task.Delay(250, stopping);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        return false;
    }

    private static bool IsPortFree(int port)
    {
        try
        {
            using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    internal static void Log(string message) => Console.WriteLine($"[apphost] {message}");
}

internal sealed record AppHostOptions(string DataDirectory, int? ApiPort, bool SkipDocker)
{
    /// <summary>Settings from arguments or environment: --data-dir / OPS_DATA_DIR, --port / OPS_API_PORT, --no-docker / OPS_NO_DOCKER.</summary>
    public static AppHostOptions Parse(string[] args)
    {
        string? Value(string flag, string variable)
        {
            var index = Array.IndexOf(args, flag);
            return index >= 0 && index + 1 < args.Length ? args[index + 1] : Environment.GetEnvironmentVariable(variable);
        }

        var repositoryRoot = typeof(Program).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "RepositoryRoot")?.Value ?? Directory.GetCurrentDirectory();
        var dataDirectory = Path.GetFullPath(Value("--data-dir", "OPS_DATA_DIR") ?? Path.Combine(repositoryRoot, ".data"));
        var port = int.TryParse(Value("--port", "OPS_API_PORT"), out var p) ? p : (int?)null;
        var skipDocker = args.Contains("--no-docker") || Environment.GetEnvironmentVariable("OPS_NO_DOCKER") is "1" or "true";
        return new AppHostOptions(dataDirectory, port, skipDocker);
    }
}
