using System.Collections.Frozen;
using System.Collections.Immutable;
using Microsoft.FeatureManagement;
using Ops.Modules.KillSwitch.Contracts;

namespace Ops.Modules.KillSwitch.Flags;

/// <summary>A feature flag with its definition parsed once, when the scope was loaded.</summary>
internal sealed record FeatureFlag(FlagState State, FeatureDefinition Definition);

/// <summary>
/// One scope's flags (a tenant's, or the platform's), immutable and indexed for the check: one field read per
/// scope-wide flag and one dictionary lookup per user, agent and model. Built-in flags whose value is false are
/// kept in <see cref="All"/> (they are listed) but never indexed (they never stop anything).
/// </summary>
internal sealed class ScopeFlags
{
    private ScopeFlags(string scopeId, long version, ImmutableArray<FlagState> all, IReadOnlyDictionary<string, FeatureDefinition> definitions)
    {
        ScopeId = scopeId;
        Version = version;
        All = all;
        var users = new Dictionary<string, FlagState>(StringComparer.Ordinal);
        var agents = new Dictionary<string, FlagState>(StringComparer.Ordinal);
        var models = new Dictionary<string, FlagState>(StringComparer.Ordinal);
        var features = new Dictionary<string, FeatureFlag>(StringComparer.Ordinal);
        foreach (var flag in all)
        {
            var on = flag.Value.ValueKind == System.Text.Json.JsonValueKind.True;
            switch (flag.Kind)
            {
                case FlagKind.Killall when on:
                    Killall = flag;
                    break;
                case FlagKind.ReadOnly when on:
                    ReadOnly = flag;
                    break;
                case FlagKind.KillUser when on:
                    users[flag.Key[FlagKeys.UserPrefix.Length..]] = flag;
                    break;
                case FlagKind.KillAgent when on:
                    agents[flag.Key[FlagKeys.AgentPrefix.Length..]] = flag;
                    break;
                case FlagKind.KillModel when on:
                    models[flag.Key[FlagKeys.ModelPrefix.Length..]] = flag;
                    break;
                case FlagKind.Feature when definitions.TryGetValue(flag.Key, out var definition):
                    features[flag.Key] = new FeatureFlag(flag, definition);
                    break;
            }
        }

        Users = users.ToFrozenDictionary(StringComparer.Ordinal);
        Agents = agents.ToFrozenDictionary(StringComparer.Ordinal);
        Models = models.ToFrozenDictionary(StringComparer.Ordinal);
        Features = features.ToFrozenDictionary(StringComparer.Ordinal);
    }

    public string ScopeId { get; }

    /// <summary>The last change applied (killswitch.scope_versions); a reload never replaces a newer state with an older one.</summary>
    public long Version { get; }

    public ImmutableArray<FlagState> All { get; }

    public FlagState? Killall { get; }

    public FlagState? ReadOnly { get; }

    public FrozenDictionary<string, FlagState> Users { get; }

    public FrozenDictionary<string, FlagState> Agents { get; }

    public FrozenDictionary<string, FlagState> Models { get; }

    public FrozenDictionary<string, FeatureFlag> Features { get; }

    public static ScopeFlags Empty(string scopeId) =>
        new(scopeId, 0, [], FrozenDictionary<string, FeatureDefinition>.Empty);

    /// <param name="definitions">Parsed definitions of the scope's feature flags, by key (see <c>FeatureDefinitions</c>).</param>
    public static ScopeFlags Create(string scopeId, long version, IEnumerable<FlagState> flags, IReadOnlyDictionary<string, FeatureDefinition> definitions) =>
        new(scopeId, version, [.. flags.OrderBy(f => f.Key, StringComparer.Ordinal)], definitions);
}
