using System.Collections.Concurrent;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Ops.Modules.Audit.Redaction;
using Ops.Modules.Shared.Json;
using Ops.Modules.Shared.Notifications;

namespace Ops.Modules.Audit.Settings;

/// <summary>One extra redaction pattern of a tenant: matches are replaced by <c>[name]</c>.</summary>
internal sealed record PatternSetting(string Name, string Pattern);

/// <summary>A tenant's audit settings as stored; <see cref="RetentionDays"/> null means the operator's default.</summary>
internal sealed record TenantAuditSettings(
    string TenantId,
    int? RetentionDays,
    IReadOnlyList<PatternSetting> RedactionPatterns,
    IReadOnlyList<string> RedactedFields,
    long Version,
    DateTimeOffset? UpdatedAt,
    string? UpdatedBy)
{
    public static TenantAuditSettings Default(string tenantId) => new(tenantId, null, [], [], 0, null, null);
}

/// <summary>
/// Every tenant's audit settings and compiled redaction policy, in memory: redaction runs on every string of
/// every event, so it never waits for the database. All rows are loaded at start-up; a change is published on
/// the change feed inside the writer's transaction and every instance reloads that tenant; after a listener
/// reconnect (and every minute, as a safety net) everything is reloaded. A version column keeps an older
/// reload from overwriting a newer one.
/// </summary>
internal sealed partial class AuditSettingsStore : IRedactionPolicies, IDisposable
{
    public const string Topic = "audit.settings";

    private readonly NpgsqlDataSource _dataSource;
    private readonly IChangeFeed _changeFeed;
    private readonly AuditOptions _options;
    private readonly ILogger<AuditSettingsStore> _logger;
    private readonly IDisposable _subscription;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly RedactionPolicy _defaultPolicy;

    public AuditSettingsStore(NpgsqlDataSource dataSource, IChangeFeed changeFeed, IOptions<AuditOptions> options, ILogger<AuditSettingsStore> logger)
    {
        _dataSource = dataSource;
        _changeFeed = changeFeed;
        _options = options.Value;
        _logger = logger;
        _defaultPolicy = new RedactionPolicy(OperatorFields, []);
        _subscription = changeFeed.Subscribe(Topic, notification =>
        {
            // Handlers run on the listener's thread: reload off it.
            _ = notification.IsResync ? ReloadInBackground(null) : ReloadInBackground(notification.Payload);
        });
    }

    private IEnumerable<string> OperatorFields => AuditRedactionOptions.BuiltInFields.Concat(_options.Redaction.AlwaysRedactedFields);

    public RedactionPolicy For(string tenantId) => _entries.TryGetValue(tenantId, out var entry) ? entry.Policy : _defaultPolicy;

    public TenantAuditSettings Get(string tenantId) => _entries.TryGetValue(tenantId, out var entry) ? entry.Settings : TenantAuditSettings.Default(tenantId);

    public int RetentionDays(string tenantId) => Get(tenantId).RetentionDays ?? _options.Retention.DefaultDays;

    /// <summary>Events before this instant are expired for the tenant: retention N keeps today and the N whole days before it (UTC).</summary>
    public DateTimeOffset RetentionCutoff(string tenantId, DateTimeOffset now) => Cutoff(now, RetentionDays(tenantId));

    public static DateTimeOffset Cutoff(DateTimeOffset now, int retentionDays) =>
        new(DateOnly.FromDateTime(now.UtcDateTime).AddDays(-retentionDays).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);

    /// <summary>Every tenant that chose settings (the others use the defaults).</summary>
    public IReadOnlyCollection<TenantAuditSettings> All => _entries.Values.Select(e => e.Settings).ToList();

    public async Task LoadAllAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        foreach (var row in await connection.QueryAsync<SettingsRow>(new CommandDefinition(SelectSql, cancellationToken: cancellationToken)))
        {
            Apply(row.ToSettings());
        }
    }

    public async Task ReloadAsync(string tenantId, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<SettingsRow>(new CommandDefinition(
            SelectSql + " WHERE tenant_id = @tenantId", new { tenantId }, cancellationToken: cancellationToken));
        if (row is not null)
        {
            Apply(row.ToSettings());
        }
    }

    /// <summary>Reads a tenant's settings inside a transaction, locking the row so concurrent updates serialise.</summary>
    public static async Task<TenantAuditSettings> ReadForUpdateAsync(string tenantId, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var row = await connection.QuerySingleOrDefaultAsync<SettingsRow>(new CommandDefinition(
            SelectSql + " WHERE tenant_id = @tenantId FOR UPDATE", new { tenantId }, transaction, cancellationToken: cancellationToken));
        return row?.ToSettings() ?? TenantAuditSettings.Default(tenantId);
    }

    /// <summary>Stores new settings and publishes the change; call <see cref="Apply"/> after the commit.</summary>
    public async Task<TenantAuditSettings> SaveAsync(TenantAuditSettings settings, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var version = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            """
            INSERT INTO audit.settings (tenant_id, retention_days, redaction_patterns, redacted_fields, version, updated_at, updated_by)
            VALUES (@TenantId, @RetentionDays, @Patterns::jsonb, @Fields, 1, @UpdatedAt, @UpdatedBy)
            ON CONFLICT (tenant_id) DO UPDATE SET
                retention_days = excluded.retention_days,
                redaction_patterns = excluded.redaction_patterns,
                redacted_fields = excluded.redacted_fields,
                version = audit.settings.version + 1,
                updated_at = excluded.updated_at,
                updated_by = excluded.updated_by
            RETURNING version
            """,
            new
            {
                settings.TenantId,
                settings.RetentionDays,
                Patterns = JsonSerializer.Serialize(settings.RedactionPatterns, OpsJson.Options),
                Fields = settings.RedactedFields.ToArray(),
                settings.UpdatedAt,
                settings.UpdatedBy,
            },
            transaction,
            cancellationToken: cancellationToken));
        await _changeFeed.PublishAsync(Topic, settings.TenantId, connection, transaction, cancellationToken);
        return settings with { Version = version };
    }

    /// <summary>Installs settings unless a newer version is already in memory.</summary>
    public void Apply(TenantAuditSettings settings)
    {
        var patterns = new List<TenantPattern>();
        foreach (var pattern in settings.RedactionPatterns)
        {
            var regex = PatternCompiler.CompileStored(pattern.Pattern, _options.Redaction.PatternTimeout);
            if (regex is null)
            {
                LogPatternSkipped(_logger, settings.TenantId, pattern.Name);
                continue;
            }

            patterns.Add(new TenantPattern(pattern.Name, pattern.Pattern, regex));
        }

        var entry = new Entry(settings, new RedactionPolicy(OperatorFields.Concat(settings.RedactedFields), patterns));
        _entries.AddOrUpdate(settings.TenantId, entry, (_, existing) => existing.Settings.Version > settings.Version ? existing : entry);
    }

    private async Task ReloadInBackground(string? tenantId)
    {
        try
        {
            if (tenantId is null)
            {
                await LoadAllAsync(CancellationToken.None);
            }
            else
            {
                await ReloadAsync(tenantId, CancellationToken.None);
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            LogReloadFailed(_logger, tenantId ?? "(all)", ex);
        }
    }

    public void Dispose() => _subscription.Dispose();

    private const string SelectSql =
        "SELECT tenant_id, retention_days, redaction_patterns::text AS redaction_patterns, redacted_fields, version, updated_at, updated_by FROM audit.settings";

    private sealed record Entry(TenantAuditSettings Settings, RedactionPolicy Policy);

    private sealed class SettingsRow
    {
        public required string TenantId { get; init; }
        public int? RetentionDays { get; init; }
        public required string RedactionPatterns { get; init; }
        public required string[] RedactedFields { get; init; }
        public long Version { get; init; }
        public DateTimeOffset UpdatedAt { get; init; }
        public required string UpdatedBy { get; init; }

        public TenantAuditSettings ToSettings() => new(
            TenantId,
            RetentionDays,
            JsonSerializer.Deserialize<List<PatternSetting>>(RedactionPatterns, OpsJson.Options) ?? [],
            RedactedFields,
            Version,
            UpdatedAt,
            UpdatedBy);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Audit settings: tenant {TenantId}'s redaction pattern {Pattern} no longer compiles and is not applied")]
    private static partial void LogPatternSkipped(ILogger logger, string tenantId, string pattern);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Audit settings: reloading {TenantId} failed; the periodic refresh will retry")]
    private static partial void LogReloadFailed(ILogger logger, string tenantId, Exception exception);
}
