using FluentMigrator;
using FluentMigrator.Runner;
using FluentMigrator.Runner.Initialization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Ops.Modules.Shared.Modules;
using Ops.Modules.Shared.Scheduling;

namespace Ops.Modules.Shared.Data;

/// <summary>
/// Runs each module's FluentMigrator migrations with a runner of its own, so every module keeps its version
/// table in its own schema. Instances starting together take turns through an advisory lock.
/// </summary>
public sealed class ModuleMigrator(ModuleCatalog catalog, IConfiguration configuration, NpgsqlDataSource dataSource, ILoggerFactory loggerFactory)
{
    private readonly ILogger _logger = loggerFactory.CreateLogger<ModuleMigrator>();

    public async Task MigrateAllAsync(CancellationToken cancellationToken)
    {
        var connectionString = configuration.GetConnectionString(OpsDatabase.ConnectionName)
            ?? throw new ModuleMigrationException($"ConnectionStrings:{OpsDatabase.ConnectionName} is not set.", null);

        try
        {
            await AdvisoryLock.RunSerializedAsync(dataSource, "ops.migrations", _ =>
            {
                foreach (var module in catalog.Modules)
                {
                    Migrate(module, connectionString);
                }

                return Task.CompletedTask;
            }, cancellationToken);
        }
        catch (NpgsqlException ex)
        {
            throw new ModuleMigrationException($"the database cannot be reached to run migrations ({ex.Message}).", ex);
        }
    }

    private void Migrate(ModuleDefinition module, string connectionString)
    {
        using var services = new ServiceCollection()
            .AddSingleton(loggerFactory)
            .AddSingleton(typeof(ILogger<>), typeof(Logger<>))
            .AddFluentMigratorCore()
            .ConfigureRunner(runner => runner
                .AddPostgres()
                .WithGlobalConnectionString(connectionString)
                .WithVersionTable(new SchemaVersionTable(module.Schema)))
            .AddSingleton<IMigrationSourceItem>(new ModuleMigrationSource(module.Assembly))
            .BuildServiceProvider(validateScopes: false);

        try
        {
            var runner = services.GetRequiredService<IMigrationRunner>();
            if (!runner.HasMigrationsToApplyUp())
            {
                _logger.LogDebug("Module {Module}: schema {Schema} is up to date", module.Name, module.Schema);
                return;
            }

            runner.MigrateUp();
            _logger.LogInformation("Module {Module}: schema {Schema} migrated", module.Name, module.Schema);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw new ModuleMigrationException(
                $"migration of module '{module.Name}' (schema '{module.Schema}') failed: {ex.GetBaseException().Message}", ex);
        }
    }
}

/// <summary>A module's migrations, internal types included: modules keep everything but their contracts internal.</summary>
internal sealed class ModuleMigrationSource(System.Reflection.Assembly assembly) : IMigrationSourceItem
{
    public IEnumerable<Type> MigrationTypeCandidates { get; } = assembly.GetTypes()
        .Where(t => typeof(IMigration).IsAssignableFrom(t) && t is { IsAbstract: false, IsClass: true })
        .ToList();
}

public sealed class ModuleMigrationException(string message, Exception? inner) : Exception(message, inner);
