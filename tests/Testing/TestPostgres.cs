using Npgsql;
using Ops.AppHost.Provisioning;

namespace Ops.Testing;

/// <summary>
/// One private PostgreSQL cluster per test process, started through the AppHost's own provisioning code, and a
/// migrated template database that every test class clones (CREATE DATABASE … TEMPLATE is fast).
/// </summary>
public static class TestPostgres
{
    public const string TemplateDatabase = "ops_template";
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static LocalPostgresCluster? _cluster;
    private static bool _templateReady;
    private static int _databaseCounter;

    public static async Task<LocalPostgresCluster> GetClusterAsync()
    {
        if (_cluster is not null)
        {
            return _cluster;
        }

        await Gate.WaitAsync();
        try
        {
            if (_cluster is null)
            {
                var binaries = PostgresBinaries.FindBinDirectory()
                    ?? throw new InvalidOperationException("The tests need the PostgreSQL server binaries (initdb, pg_ctl); see the README.");
                var root = Path.Combine(Path.GetTempPath(), $"ops-tests-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]);
                _cluster = await LocalPostgresCluster.StartAsync(
                    root,
                    binaries,
                    new LocalPostgresOptions { Durable = false, DeleteOnDispose = true, MaxConnections = 300 },
                    _ => { },
                    CancellationToken.None);
                var cluster = _cluster;
                AppDomain.CurrentDomain.ProcessExit += (_, _) => cluster.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }

            return _cluster;
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>A fresh database with every module's schema, for one test class.</summary>
    public static async Task<string> CreateDatabaseAsync()
    {
        var cluster = await GetClusterAsync();
        await EnsureTemplateAsync(cluster);
        var name = $"t{Environment.ProcessId}_{Interlocked.Increment(ref _databaseCounter)}";
        await Gate.WaitAsync();
        try
        {
            // CREATE DATABASE … TEMPLATE needs the template to have no other session, so clones are made one at a time.
            await PostgresDatabases.EnsureAsync(cluster, name, CancellationToken.None, TemplateDatabase);
        }
        finally
        {
            Gate.Release();
        }

        return cluster.ConnectionString(name);
    }

    /// <summary>An empty database, not migrated (for migration tests).</summary>
    public static async Task<string> CreateEmptyDatabaseAsync()
    {
        var cluster = await GetClusterAsync();
        var name = $"e{Environment.ProcessId}_{Interlocked.Increment(ref _databaseCounter)}";
        await PostgresDatabases.EnsureAsync(cluster, name, CancellationToken.None);
        return cluster.ConnectionString(name);
    }

    /// <summary>A superuser connection to the cluster's maintenance database, for tests that break things on purpose.</summary>
    public static async Task<NpgsqlConnection> OpenAdminConnectionAsync()
    {
        var cluster = await GetClusterAsync();
        var connection = new NpgsqlConnection(cluster.ConnectionString("postgres") + ";Pooling=false");
        await connection.OpenAsync();
        return connection;
    }

    private static async Task EnsureTemplateAsync(LocalPostgresCluster cluster)
    {
        if (_templateReady)
        {
            return;
        }

        await Gate.WaitAsync();
        try
        {
            if (_templateReady)
            {
                return;
            }

            await PostgresDatabases.EnsureAsync(cluster, TemplateDatabase, CancellationToken.None);
            var connectionString = cluster.ConnectionString(TemplateDatabase);
            await using (var factory = new OpsApiFactory(connectionString))
            {
                // Starting the host runs every module's migrations and initializers (the bootstrap key included).
                _ = factory.Services;
            }

            NpgsqlConnection.ClearAllPools();
            _templateReady = true;
        }
        finally
        {
            Gate.Release();
        }
    }
}
