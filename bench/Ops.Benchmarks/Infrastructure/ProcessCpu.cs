using System.Globalization;

namespace Ops.Benchmarks.Infrastructure;

/// <summary>
/// CPU seconds (user + system) consumed by processes, from /proc: what each side of an end-to-end run costs on a
/// shared machine (the Api, the Postgres cluster with all its backends, the load driver).
/// </summary>
public static class ProcessCpu
{
    private static readonly double TicksPerSecond = 100; // USER_HZ on Linux

    public static double Of(int pid)
    {
        var fields = Stat(pid);
        return fields is null ? 0 : (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
    }

    /// <summary>The postmaster (from postmaster.pid) and every process it forked, live ones only.</summary>
    public static double OfPostgres(string dataDirectory)
    {
        var postmaster = int.Parse(File.ReadLines(Path.Combine(dataDirectory, "postmaster.pid")).First(), CultureInfo.InvariantCulture);
        var total = Of(postmaster);
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), out var pid) && Stat(pid) is { } fields
                && int.Parse(fields[1], CultureInfo.InvariantCulture) == postmaster)
            {
                total += (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
            }
        }

        return total;
    }

    public static double OfThisProcess() => Of(Environment.ProcessId);

    /// <summary>The fields after the command name (state, ppid, …, utime at [11], stime at [12]); null when the process is gone.</summary>
    private static string[]? Stat(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");
            return text[(text.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
