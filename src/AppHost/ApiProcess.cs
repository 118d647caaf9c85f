using System.Diagnostics;
using System.Reflection;
using Ops.AppHost.Provisioning;

namespace Ops.AppHost;

/// <summary>The Api as a child process: its output prefixed with [api], stopped gracefully (SIGTERM, then kill).</summary>
internal sealed class ApiProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ApiProcess(Process process) => _process = process;

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public Task WaitForExitAsync(CancellationToken cancellationToken) => _process.WaitForExitAsync(cancellationToken);

    public static ApiProcess Start(string url, IReadOnlyDictionary<string, string> environment)
    {
        var (fileName, arguments, workingDirectory) = Locate();
        var start = new ProcessStartInfo
        {
            FileName = fileName,
            WorkingDirectory = workingDirectory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(url);
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { Console.Out.WriteLine($"[api] {e.Data}"); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { Console.Error.WriteLine($"[api] {e.Data}"); } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new ApiProcess(process);
    }

    /// <summary>SIGTERM and a grace period for in-flight requests; then the whole process tree is killed.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_process.HasExited)
        {
            return;
        }

        CommandRunner.Signal(_process.Id, 15);
        using var timeout = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(CancellationToken.None);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(15));
        _process.Dispose();
    }

    /// <summary>
    /// The Api is built with the AppHost (a project reference that is not linked in), so its output sits next
    /// to its project. Run it from the project folder so its content root (appsettings, wwwroot) is the source tree.
    /// </summary>
    private static (string FileName, string[] Arguments, string WorkingDirectory) Locate()
    {
        var metadata = typeof(ApiProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().ToDictionary(a => a.Key, a => a.Value ?? string.Empty);
        var projectDirectory = metadata["ApiProjectDirectory"];
        var output = Path.Combine(projectDirectory, "bin", metadata["BuildConfiguration"], "net10.0");
        var native = Path.Combine(output, OperatingSystem.IsWindows() ? "Ops.Api.exe" : "Ops.Api");
        if (File.Exists(native))
        {
            return (native, [], projectDirectory);
        }

        var dll = Path.Combine(output, "Ops.Api.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"The Api was not built: {dll} is missing. Run `dotnet build` first.");
        }

        return ("dotnet", [dll], projectDirectory);
    }
}
