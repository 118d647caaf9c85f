namespace Ops.Modules.Usage.Pricing;

/// <summary>
/// Every pricing version at one moment (versions are immutable, so a snapshot never goes stale except by missing
/// newer versions; <see cref="VersionCount"/> tells). Resolution for (tenant, UTC day, model), first match wins:
/// <list type="number">
/// <item>the tenant's latest reprice assignment covering the day and model: its version, which may leave it unpriced;</item>
/// <item>the tenant's own latest version effective on the day, if it lists the model;</item>
/// <item>the platform's latest version effective on the day: its price, or unpriced when it lacks the model.</item>
/// </list>
/// "Latest effective on the day" is <c>pricing_for(day)</c>: the greatest effective date ≤ day, never interpolated.
/// </summary>
internal sealed class PricingSnapshot
{
    public static readonly PricingSnapshot Empty = new([], 0);

    private readonly IReadOnlyList<PricingVersion> _platform;
    private readonly Dictionary<string, List<PricingVersion>> _byTenant;
    private readonly Dictionary<string, PricingVersion> _byId;

    public PricingSnapshot(IEnumerable<PricingVersion> versions, long versionCount)
    {
        var ordered = versions.OrderBy(v => v.EffectiveFrom).ThenBy(v => v.Sequence).ToList();
        _platform = ordered.Where(v => v.IsPlatform).ToList();
        _byTenant = ordered.Where(v => !v.IsPlatform).GroupBy(v => v.TenantId!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        _byId = ordered.ToDictionary(v => v.Id, StringComparer.Ordinal);
        VersionCount = versionCount;
    }

    /// <summary>How many versions this snapshot holds: versions are only ever added, so the count identifies the state.</summary>
    public long VersionCount { get; }

    public IReadOnlyList<PricingVersion> Platform => _platform;

    public IReadOnlyList<PricingVersion> TenantVersions(string tenantId) =>
        _byTenant.TryGetValue(tenantId, out var versions) ? versions : [];

    /// <summary>A version the tenant may use: a platform version or one of its own.</summary>
    public PricingVersion? Find(string versionId, string tenantId) =>
        _byId.TryGetValue(versionId, out var version) && (version.IsPlatform || version.TenantId == tenantId) ? version : null;

    public PriceResolution Resolve(string tenantId, DateOnly day, string model, IReadOnlyList<PricingAssignment> assignments)
    {
        // Assignments arrive newest first.
        foreach (var assignment in assignments)
        {
            if (assignment.Covers(day, model) && Find(assignment.VersionId, tenantId) is { } assigned)
            {
                return ResolveIn(assigned, model);
            }
        }

        if (_byTenant.TryGetValue(tenantId, out var own) && LatestEffective(own, day) is { } tenantVersion
            && tenantVersion.Models.TryGetValue(model, out var negotiated))
        {
            return new PriceResolution(tenantVersion.Id, negotiated);
        }

        return ResolveIn(LatestEffective(_platform, day), model);
    }

    /// <summary>Prices with one named version (quotes and reprices), whatever its effective date.</summary>
    public static PriceResolution ResolveIn(PricingVersion? version, string model) =>
        version is null ? default : new PriceResolution(version.Id, version.Models.GetValueOrDefault(model));

    /// <summary>The provider the catalog knows for a model (events may omit it): the newest listing wins.</summary>
    public string? ProviderOf(string tenantId, string model)
    {
        var own = TenantVersions(tenantId);
        for (var i = own.Count - 1; i >= 0; i--)
        {
            if (own[i].Models.TryGetValue(model, out var price))
            {
                return price.Provider;
            }
        }

        for (var i = _platform.Count - 1; i >= 0; i--)
        {
            if (_platform[i].Models.TryGetValue(model, out var price))
            {
                return price.Provider;
            }
        }

        return null;
    }

    /// <summary><c>pricing_for(day)</c>: the version with the greatest effective date ≤ day (ties: the later created).</summary>
    internal static PricingVersion? LatestEffective(IReadOnlyList<PricingVersion> ordered, DateOnly day)
    {
        for (var i = ordered.Count - 1; i >= 0; i--)
        {
            if (ordered[i].EffectiveFrom <= day)
            {
                return ordered[i];
            }
        }

        return null;
    }
}
