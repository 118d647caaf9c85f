using System.Text.RegularExpressions;
using Npgsql;

namespace Ops.AppHost.Provisioning;

public static partial class PostgresDatabases
{
    /// <summary>Creates the database if it does not exist; true when it was created now (the system's first run).</summary>
    public static async Task<bool> EnsureAsync(IPostgresServer server, string database, CancellationToken cancellationToken, string? template = null)
    {
        if (!SafeName().IsMatch(database) || (template is not null && !SafeName().IsMatch(template)))
        {
            throw new ArgumentException($"'{database}' is not a safe database name.", nameof(database));
        }

        await using var connection = new NpgsqlConnection(server.ConnectionString("postgres") + ";Pooling=false");
        await connection.OpenAsync(cancellationToken);
        await using (var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @name", connection))
        {
            exists.Parameters.AddWithValue("name", database);
            if (await exists.ExecuteScalarAsync(cancellationToken) is not null)
            {
                return false;
            }
        }

        // Identifiers cannot be parameters; the name was checked against a strict pattern above.
        var sql = template is null ? $"CREATE DATABASE \"{database}\"" : $"CREATE DATABASE \"{database}\" TEMPLATE \"{template}\"";
        await using var create = new NpgsqlCommand(sql, connection);
        await create.ExecuteNonQueryAsync(cancellationToken);
        return true;
    }

    public static async Task WaitUntilReadyAsync(IPostgresServer server, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                await using var connection = new NpgsqlConnection(server.ConnectionString("postgres") + ";Pooling=false");
                await connection.OpenAsync(cancellationToken);
                return;
            }
            catch (NpgsqlException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(500, cancellationToken);
            }
        }
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex SafeName();
}
