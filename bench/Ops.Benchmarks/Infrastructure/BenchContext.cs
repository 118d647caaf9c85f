using Ops.AppHost.Provisioning;

namespace Ops.Benchmarks.Infrastructure;

/// <summary>
/// What suites share: a durable PostgreSQL cluster started by the AppHost's own provisioning code (fsync on, as
/// in production), fresh databases on it, and the Api as a real process (Kestrel on loopback, Release build).
/// </summary>
public sealed class BenchContext : IAsyncDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"ops-bench-{Guid.NewGuid():N}");
    private LocalPostgresCluster? _cluster;
    private int _databases;

    /// <summary>Command-line options after the suite name (e.g. <c>--events 10000000</c>).</summary>
    public required IReadOnlyDictionary<string, string> Options { get; init; }

    public int IntOption(string name, int fallback) =>
        Options.TryGetValue(name, out var value) && int.TryParse(value, out var parsed) ? parsed : fallback;

    public async Task<LocalPostgresCluster> PostgresAsync()
    {
        if (_cluster is null)
        {
            var binaries = PostgresBinaries.FindBinDirectory() ?? throw new InvalidOperationException("PostgreSQL binaries not found.");
            _cluster = await LocalPostgresCluster.StartAsync(
                _root,
                binaries,
                new LocalPostgresOptions
                {
                    Durable = true,
                    DeleteOnDispose = true,
                    ExtraSettings = ["shared_buffers = '1GB'", "work_mem = '64MB'", "maintenance_work_mem = '512MB'", "max_wal_size = '8GB'", "checkpoint_timeout = '30min'"],
                },
                Console.WriteLine,
                CancellationToken.None);
        }

        return _cluster;
    }

    /// <summary>A new empty database; the Api's migrations run when an Api process first starts on it.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix)
    {
        var cluster = await PostgresAsync();
        var name = $"{prefix}_{Interlocked.Increment(ref _databases)}";
        await PostgresDatabases.EnsureAsync(cluster, name, CancellationToken.None);
        return cluster.ConnectionString(name);
    }

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}
