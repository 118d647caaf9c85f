using Dapper;
using Npgsql;

namespace Ops.Modules.Usage.Pricing;

/// <summary>Writes pricing versions and reads reprice assignments (the SQL of the pricing tables lives here).</summary>
internal sealed class PricingStore
{
    /// <summary>A tenant's assignments overlapping [@first, @last], newest first (the newest covering a day wins).</summary>
    public const string AssignmentsSql = """
        SELECT id, from_day, to_day, version, models FROM usage.pricing_assignments
        WHERE tenant_id = @tenant AND from_day <= @last AND to_day >= @first
        ORDER BY id DESC
        """;

    /// <summary>Reads the rows of <see cref="AssignmentsSql"/>.</summary>
    public static async Task<List<PricingAssignment>> ReadAssignmentsAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        var assignments = new List<PricingAssignment>();
        while (await reader.ReadAsync(cancellationToken))
        {
            assignments.Add(new PricingAssignment(
                reader.GetInt64(0),
                reader.GetFieldValue<DateOnly>(1),
                reader.GetFieldValue<DateOnly>(2),
                reader.GetString(3),
                await reader.IsDBNullAsync(4, cancellationToken) ? null : reader.GetFieldValue<string[]>(4)));
        }

        return assignments;
    }

    /// <summary>The tenant's assignments that may cover <paramref name="day"/>.</summary>
    public static async Task<List<PricingAssignment>> LoadAssignmentsAsync(NpgsqlDataSource dataSource, string tenantId, DateOnly day, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(AssignmentsSql);
        command.Parameters.AddWithValue("tenant", tenantId);
        command.Parameters.AddWithValue("first", day);
        command.Parameters.AddWithValue("last", day);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await ReadAssignmentsAsync(reader, cancellationToken);
    }

    /// <summary>
    /// Adds an immutable version. Creations are serialized (one advisory lock) so ids and the version count move in
    /// commit order. Returns false when the id is taken.
    /// </summary>
    public static async Task<bool> TryCreateAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        PricingVersion version,
        CancellationToken cancellationToken)
    {
        await connection.ExecuteAsync(new CommandDefinition(
            "SELECT pg_advisory_xact_lock(hashtextextended('usage.pricing.versions', 0))", transaction: transaction, cancellationToken: cancellationToken));
        var exists = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM usage.pricing_versions WHERE version = @id)", new { id = version.Id }, transaction, cancellationToken: cancellationToken));
        if (exists)
        {
            return false;
        }

        var scope = version.TenantId ?? PricingCatalog.PlatformScope;
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO usage.pricing_versions (tenant_id, version, effective_from, description, created_at, created_by)
            VALUES (@scope, @id, @effectiveFrom, @description, @createdAt, @createdBy)
            """,
            new { scope, id = version.Id, effectiveFrom = version.EffectiveFrom, description = version.Description, createdAt = version.CreatedAt, createdBy = version.CreatedBy },
            transaction,
            cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO usage.pricing_model_prices (tenant_id, version, model, provider, input_per_mtok, output_per_mtok, cache_read_per_mtok,
                cache_write_per_mtok, long_context_threshold, long_input_per_mtok, long_output_per_mtok, long_cache_read_per_mtok, long_cache_write_per_mtok)
            VALUES (@scope, @id, @Model, @Provider, @Input, @Output, @CacheRead, @CacheWrite, @Threshold, @LongInput, @LongOutput, @LongCacheRead, @LongCacheWrite)
            """,
            version.Models.Values.Select(p => new
            {
                scope,
                id = version.Id,
                p.Model,
                p.Provider,
                Input = p.Rates.InputPerMTok,
                Output = p.Rates.OutputPerMTok,
                CacheRead = p.Rates.CacheReadPerMTok,
                CacheWrite = p.Rates.CacheWritePerMTok,
                Threshold = p.LongContext?.ThresholdTokens,
                LongInput = p.LongContext?.Rates.InputPerMTok,
                LongOutput = p.LongContext?.Rates.OutputPerMTok,
                LongCacheRead = p.LongContext?.Rates.CacheReadPerMTok,
                LongCacheWrite = p.LongContext?.Rates.CacheWritePerMTok,
            }),
            transaction,
            cancellationToken: cancellationToken));
        return true;
    }

    public static async Task<IReadOnlyList<AssignmentRow>> ListAssignmentsAsync(NpgsqlConnection connection, string tenantId, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<AssignmentRow>(new CommandDefinition(
            """
            SELECT id, from_day, to_day, version, models, assigned_at, assigned_by, reason, events, cost_before_usd, cost_after_usd
            FROM usage.pricing_assignments WHERE tenant_id = @tenantId ORDER BY id
            """,
            new { tenantId },
            cancellationToken: cancellationToken))).ToList();

    internal sealed class AssignmentRow
    {
        public long Id { get; init; }
        public DateOnly FromDay { get; init; }
        public DateOnly ToDay { get; init; }
        public string Version { get; init; } = string.Empty;
        public string[]? Models { get; init; }
        public DateTimeOffset AssignedAt { get; init; }
        public string AssignedBy { get; init; } = string.Empty;
        public string? Reason { get; init; }
        public long Events { get; init; }
        public decimal CostBeforeUsd { get; init; }
        public decimal CostAfterUsd { get; init; }
    }
}
