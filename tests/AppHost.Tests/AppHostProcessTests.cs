using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.RegularExpressions;
using Ops.AppHost.Provisioning;
using Shouldly;
using Xunit;
using Xunit.Abstractions;

namespace Ops.AppHost.Tests;

/// <summary>
/// Runs the AppHost exactly as the README says (`dotnet run --project src/AppHost`), in its own session as a
/// terminal would, with a fresh data folder; then uses it, breaks it and stops it like a user.
/// </summary>
public sealed partial class AppHostProcessTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), $"ops-apphost-test-{Guid.NewGuid():N}");
    private readonly int _port = LocalPostgresCluster.FreePort();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }

        return Task.CompletedTask;
    }

    [Fact]
    public async Task Runs_serves_reports_a_crashed_api_and_stops_leaving_no_process_behind()
    {
        await using var appHost = StartAppHost();
        var key = await appHost.WaitForAsync(BootstrapKeyLine(), TimeSpan.FromMinutes(4));
        await appHost.WaitForAsync(new Regex("Press Ctrl\\+C to stop"), TimeSpan.FromSeconds(30));
        var apiPid = int.Parse((await appHost.WaitForAsync(ApiPidLine(), TimeSpan.FromSeconds(1))).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}") };
        (await http.GetStringAsync("/health")).ShouldContain("\"status\":\"healthy\"");
        (await http.GetAsync("/scalar")).StatusCode.ShouldBe(HttpStatusCode.OK);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key.Groups[1].Value);
        (await http.PostAsJsonAsync("/v1/admin/tenants", new { id = "acme", name = "Acme" })).StatusCode.ShouldBe(HttpStatusCode.Created);
        var ingestKey = await http.PostAsJsonAsync("/v1/admin/keys", new { tenant_id = "acme", name = "agent", roles = new[] { "ingest" } });
        ingestKey.StatusCode.ShouldBe(HttpStatusCode.Created);

        // A second AppHost on the same data folder refuses to start instead of corrupting the cluster.
        await using (var second = StartAppHost())
        {
            (await second.WaitForExitAsync(TimeSpan.FromMinutes(3))).ShouldBe(2);
            second.Output.ShouldContain("Another AppHost");
        }

        // The Api dies: the AppHost says so and keeps Postgres until Ctrl+C.
        CommandRunner.Signal(apiPid, 9).ShouldBeTrue();
        await appHost.WaitForAsync(new Regex("The Api exited unexpectedly"), TimeSpan.FromSeconds(30));

        var postgresPids = PostgresProcessesUsing(_dataDirectory);
        postgresPids.ShouldNotBeEmpty();

        appHost.SendCtrlC();
        (await appHost.WaitForExitAsync(TimeSpan.FromMinutes(2))).ShouldBe(1); // the Api had crashed
        CommandRunner.IsAlive(apiPid).ShouldBeFalse();
        PostgresProcessesUsing(_dataDirectory).ShouldBeEmpty();
    }

    [Fact]
    public async Task Ctrl_C_stops_the_api_and_postgres_and_data_survives_the_next_run()
    {
        int apiPid;
        await using (var first = StartAppHost())
        {
            await first.WaitForAsync(new Regex("Press Ctrl\\+C to stop"), TimeSpan.FromMinutes(4));
            first.Output.ShouldContain("Bootstrap admin API key");
            apiPid = int.Parse(ApiPidLine().Match(first.Output).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            first.SendCtrlC();
            (await first.WaitForExitAsync(TimeSpan.FromMinutes(2))).ShouldBe(0);
        }

        CommandRunner.IsAlive(apiPid).ShouldBeFalse();
        PostgresProcessesUsing(_dataDirectory).ShouldBeEmpty();

        await using var second = StartAppHost();
        await second.WaitForAsync(new Regex("Press Ctrl\\+C to stop"), TimeSpan.FromMinutes(4));
        second.Output.ShouldNotContain("Bootstrap admin API key"); // printed on the first run only
        second.Output.ShouldNotContain("Initializing a new PostgreSQL cluster");
        second.SendCtrlC();
        (await second.WaitForExitAsync(TimeSpan.FromMinutes(2))).ShouldBe(0);
        PostgresProcessesUsing(_dataDirectory).ShouldBeEmpty();
    }

    private RunningAppHost StartAppHost()
    {
        var start = new ProcessStartInfo
        {
            // setsid: like a terminal, the AppHost leads its own process group, so Ctrl+C can be sent to the group.
            FileName = "setsid",
            WorkingDirectory = RepositoryRoot(),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "dotnet", "run", "--project", "src/AppHost" })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["OPS_DATA_DIR"] = _dataDirectory;
        start.Environment["OPS_API_PORT"] = _port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["OPS_NO_DOCKER"] = "1";
        start.Environment.Remove("ConnectionStrings__opsdb");
        return new RunningAppHost(Process.Start(start)!, output);
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Ops.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("Ops.sln not found above the test folder.");
    }

    private static List<int> PostgresProcessesUsing(string dataDirectory)
    {
        var pids = new List<int>();
        foreach (var proc in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(proc), out var pid))
            {
                continue;
            }

            try
            {
                var commandLine = File.ReadAllText(Path.Combine(proc, "cmdline")).Replace('\0', ' ');
                if (commandLine.Contains("postgres", StringComparison.Ordinal) && commandLine.Contains(dataDirectory, StringComparison.Ordinal))
                {
                    pids.Add(pid);
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return pids;
    }

    [GeneratedRegex(@"Bootstrap admin API key[^:]*: (ops_[a-z0-9]+_[A-Za-z0-9]+)")]
    private static partial Regex BootstrapKeyLine();

    [GeneratedRegex(@"Api pid (\d+)")]
    private static partial Regex ApiPidLine();

    private sealed class RunningAppHost : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly ITestOutputHelper _log;
        private readonly StringBuilder _output = new();
        private readonly Lock _gate = new();

        public RunningAppHost(Process process, ITestOutputHelper log)
        {
            _process = process;
            _log = log;
            process.OutputDataReceived += (_, e) => Append(e.Data);
            process.ErrorDataReceived += (_, e) => Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public string Output
        {
            get
            {
                lock (_gate)
                {
                    return _output.ToString();
                }
            }
        }

        public async Task<Match> WaitForAsync(Regex pattern, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (DateTime.UtcNow < deadline)
            {
                var match = pattern.Match(Output);
                if (match.Success)
                {
                    return match;
                }

                if (_process.HasExited)
                {
                    break;
                }

                await Task.Delay(100);
            }

            throw new TimeoutException($"'{pattern}' did not appear. Output so far:\n{Output}");
        }

        /// <summary>What a terminal does on Ctrl+C: SIGINT to the whole foreground process group.</summary>
        public void SendCtrlC() => CommandRunner.Signal(-_process.Id, 2).ShouldBeTrue();

        public async Task<int> WaitForExitAsync(TimeSpan timeout)
        {
            using var cancel = new CancellationTokenSource(timeout);
            await _process.WaitForExitAsync(cancel.Token);
            return _process.ExitCode;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                CommandRunner.Signal(-_process.Id, 2);
                using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(1));
                try
                {
                    await _process.WaitForExitAsync(cancel.Token);
                }
                catch (OperationCanceledException)
                {
                    _process.Kill(entireProcessTree: true);
                }
            }

            _log.WriteLine(Output);
            _process.Dispose();
        }

        private void Append(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_gate)
            {
                _output.AppendLine(line);
            }
        }
    }
}
