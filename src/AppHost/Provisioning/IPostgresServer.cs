namespace Ops.AppHost.Provisioning;

/// <summary>A Postgres server the AppHost (or the test suite) started and will stop.</summary>
public interface IPostgresServer : IAsyncDisposable
{
    /// <summary>How it was provided, for the start-up banner.</summary>
    string Description { get; }

    string ConnectionString(string database);

    Task StopAsync();
}
