using Dapper;
using Npgsql;

namespace Ops.Modules.Usage.Pricing;

/// <summary>
/// The pricing versions, cached. Versions are immutable and only ever added, so the cache is current exactly when it
/// holds as many versions as the table: every ingestion batch reads that count inside its transaction and reloads
/// on a difference, which makes a stale cache impossible even across instances (no change feed needed).
/// </summary>
internal sealed class PricingCatalog(NpgsqlDataSource dataSource)
{
    public const string PlatformScope = "*";
    public const string CountSql = "SELECT count(*) FROM usage.pricing_versions";

    private readonly SemaphoreSlim _reload = new(1, 1);
    private volatile PricingSnapshot _snapshot = PricingSnapshot.Empty;

    /// <summary>
    /// The cached snapshot if it holds at least <paramref name="versionCount"/> versions (versions are only added, so
    /// it then holds every version the caller can see; any newer one starts on a coming day), else a fresh one.
    /// </summary>
    public async Task<PricingSnapshot> GetAsync(long versionCount, CancellationToken cancellationToken)
    {
        var snapshot = _snapshot;
        if (snapshot.VersionCount >= versionCount)
        {
            return snapshot;
        }

        await _reload.WaitAsync(cancellationToken);
        try
        {
            if (_snapshot.VersionCount < versionCount)
            {
                _snapshot = await LoadAsync(cancellationToken);
            }

            return _snapshot;
        }
        finally
        {
            _reload.Release();
        }
    }

    /// <summary>A snapshot that includes every version committed before this call.</summary>
    public async Task<PricingSnapshot> GetCurrentAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var count = await connection.ExecuteScalarAsync<long>(new CommandDefinition(CountSql, cancellationToken: cancellationToken));
        return await GetAsync(count, cancellationToken);
    }

    private async Task<PricingSnapshot> LoadAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
        var versions = (await connection.QueryAsync<VersionRow>(new CommandDefinition(
            "SELECT tenant_id, version, seq, effective_from, description, created_at, created_by FROM usage.pricing_versions",
            transaction: transaction,
            cancellationToken: cancellationToken))).ToList();
        var prices = (await connection.QueryAsync<PriceRow>(new CommandDefinition(
            "SELECT * FROM usage.pricing_model_prices",
            transaction: transaction,
            cancellationToken: cancellationToken))).ToLookup(p => p.Version, StringComparer.Ordinal);
        await transaction.CommitAsync(cancellationToken);

        var loaded = versions.Select(v => new PricingVersion(
            v.Version,
            v.TenantId == PlatformScope ? null : v.TenantId,
            v.EffectiveFrom,
            v.Seq,
            prices[v.Version].ToDictionary(p => p.Model, p => p.ToModelPrice(), StringComparer.Ordinal),
            v.Description,
            v.CreatedAt,
            v.CreatedBy));
        return new PricingSnapshot(loaded, versions.Count);
    }

    private sealed class VersionRow
    {
        public string TenantId { get; init; } = string.Empty;
        public string Version { get; init; } = string.Empty;
        public long Seq { get; init; }
        public DateOnly EffectiveFrom { get; init; }
        public string? Description { get; init; }
        public DateTimeOffset CreatedAt { get; init; }
        public string CreatedBy { get; init; } = string.Empty;
    }

    internal sealed class PriceRow
    {
        public string Version { get; init; } = string.Empty;
        public string Model { get; init; } = string.Empty;
        public string Provider { get; init; } = string.Empty;
        public decimal InputPerMtok { get; init; }
        public decimal OutputPerMtok { get; init; }
        public decimal? CacheReadPerMtok { get; init; }
        public decimal? CacheWritePerMtok { get; init; }
        public int? LongContextThreshold { get; init; }
        public decimal? LongInputPerMtok { get; init; }
        public decimal? LongOutputPerMtok { get; init; }
        public decimal? LongCacheReadPerMtok { get; init; }
        public decimal? LongCacheWritePerMtok { get; init; }

        public ModelPrice ToModelPrice() => new(
            Model,
            Provider,
            new TokenRates(InputPerMtok, OutputPerMtok, CacheReadPerMtok, CacheWritePerMtok),
            LongContextThreshold is { } threshold
                ? new LongContextTier(threshold, new TokenRates(LongInputPerMtok!.Value, LongOutputPerMtok!.Value, LongCacheReadPerMtok, LongCacheWritePerMtok))
                : null);
    }
}
