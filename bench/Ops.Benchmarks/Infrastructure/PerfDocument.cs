using System.Text;

namespace Ops.Benchmarks.Infrastructure;

/// <summary>docs/perf.md: each suite owns the text between its two markers and rewrites it after every run.</summary>
public static class PerfDocument
{
    public static string Path
    {
        get
        {
            var directory = new DirectoryInfo(AppContext.BaseDirectory);
            while (directory is not null && !File.Exists(System.IO.Path.Combine(directory.FullName, "Ops.sln")))
            {
                directory = directory.Parent;
            }

            return System.IO.Path.Combine(directory?.FullName ?? Directory.GetCurrentDirectory(), "docs", "perf.md");
        }
    }

    public static void Update(IBenchSuite suite, string markdown)
    {
        var begin = $"<!-- bench:{suite.Name}:begin -->";
        var end = $"<!-- bench:{suite.Name}:end -->";
        var text = File.Exists(Path) ? File.ReadAllText(Path) : "# Performance\n";
        var section = new StringBuilder()
            .AppendLine(begin)
            .AppendLine($"## {suite.Title}")
            .AppendLine()
            .AppendLine($"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} cores with `dotnet run -c Release --project bench/Ops.Benchmarks -- {suite.Name}`.")
            .AppendLine()
            .AppendLine(markdown.TrimEnd())
            .Append(end)
            .ToString();
        var start = text.IndexOf(begin, StringComparison.Ordinal);
        var stop = text.IndexOf(end, StringComparison.Ordinal);
        text = start >= 0 && stop > start
            ? text[..start] + section + text[(stop + end.Length)..]
            : text.TrimEnd() + "\n\n" + section + "\n";
        File.WriteAllText(Path, text);
    }
}
