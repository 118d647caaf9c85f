namespace Ops.Benchmarks.Infrastructure;

/// <summary>
/// One measured area (ingestion, dashboard queries, redaction, kill-switch check, …). A suite prints its numbers,
/// each next to a baseline measured in the same run, and returns the markdown section that replaces its own
/// section of docs/perf.md.
/// </summary>
public interface IBenchSuite
{
    /// <summary>The command-line name: <c>dotnet run -c Release --project bench/Ops.Benchmarks -- &lt;name&gt;</c>.</summary>
    string Name { get; }

    string Title { get; }

    Task<string> RunAsync(BenchContext context, CancellationToken cancellationToken);
}
