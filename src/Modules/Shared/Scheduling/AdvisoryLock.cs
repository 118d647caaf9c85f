using Npgsql;

namespace Ops.Modules.Shared.Scheduling;

/// <summary>
/// Postgres session advisory locks: the way a job runs once across every Api instance sharing the database.
/// </summary>
public static class AdvisoryLock
{
    /// <summary>
    /// Runs <paramref name="work"/> only if no other session holds the lock named <paramref name="name"/>;
    /// returns false without running it otherwise. The lock lives on its own connection so the work may use
    /// (and commit) any other connections.
    /// </summary>
    public static async Task<bool> TryRunExclusiveAsync(NpgsqlDataSource dataSource, string name, Func<CancellationToken, Task> work, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using (var take = new NpgsqlCommand("SELECT pg_try_advisory_lock(hashtextextended(@name, 0))", connection))
        {
            take.Parameters.AddWithValue("name", name);
            if (await take.ExecuteScalarAsync(cancellationToken) is not true)
            {
                return false;
            }
        }

        try
        {
            await work(cancellationToken);
            return true;
        }
        finally
        {
            await using var release = new NpgsqlCommand("SELECT pg_advisory_unlock(hashtextextended(@name, 0))", connection);
            release.Parameters.AddWithValue("name", name);
            await release.ExecuteScalarAsync(CancellationToken.None);
        }
    }

    /// <summary>Waits for the lock, runs the work, releases it. Used where every instance must run the work, one at a time.</summary>
    public static async Task RunSerializedAsync(NpgsqlDataSource dataSource, string name, Func<CancellationToken, Task> work, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using (var take = new NpgsqlCommand("SELECT pg_advisory_lock(hashtextextended(@name, 0))", connection))
        {
            take.Parameters.AddWithValue("name", name);
            await take.ExecuteNonQueryAsync(cancellationToken);
        }

        try
        {
            await work(cancellationToken);
        }
        finally
        {
            await using var release = new NpgsqlCommand("SELECT pg_advisory_unlock(hashtextextended(@name, 0))", connection);
            release.Parameters.AddWithValue("name", name);
            await release.ExecuteScalarAsync(CancellationToken.None);
        }
    }
}
