using System.Diagnostics;
using System.Globalization;
using Ops.AppHost.Provisioning;

namespace Ops.Benchmarks.Infrastructure;

/// <summary>The Api as a separate process on a loopback port, as in production, so HTTP numbers include Kestrel and the network stack.</summary>
public sealed class ApiServer : IAsyncDisposable
{
    public const string AdminKey = "ops_benchadmin_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";

    private readonly Process _process;

    private ApiServer(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public int ProcessId => _process.Id;

    public static async Task<ApiServer> StartAsync(string connectionString, IReadOnlyDictionary<string, string>? settings = null)
    {
        var port = LocalPostgresCluster.FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Ops.Api.dll"));
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{port}");
        start.Environment["ConnectionStrings__opsdb"] = connectionString;
        start.Environment["Ops__BootstrapAdminKey"] = AdminKey;
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { Console.WriteLine($"[api] {e.Data}"); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { Console.WriteLine($"[api] {e.Data}"); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new ApiServer(process, new Uri($"http://127.0.0.1:{port}"));
        using var http = new HttpClient();
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The Api exited with code {process.ExitCode}.");
            }

            try
            {
                if ((await http.GetAsync(new Uri(server.BaseAddress, "/health"))).IsSuccessStatusCode)
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(200);
        }

        throw new TimeoutException("The Api did not become healthy.");
    }

    /// <summary>Resident set size now and its peak, in MiB, from /proc.</summary>
    public (double RssMiB, double PeakMiB) Memory()
    {
        double Read(string field)
        {
            var line = File.ReadLines($"/proc/{_process.Id}/status").FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal));
            return line is null ? 0 : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
        }

        return (Read("VmRSS:"), Read("VmHWM:"));
    }

    public HttpClient CreateClient(string apiKey)
    {
        var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64, PooledConnectionLifetime = TimeSpan.FromMinutes(10) })
        {
            BaseAddress = BaseAddress,
            Timeout = TimeSpan.FromMinutes(2),
        };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiKey);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            CommandRunner.Signal(_process.Id, 15);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        _process.Dispose();
    }
}
