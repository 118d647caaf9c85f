using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Microsoft.FeatureManagement;
using Microsoft.FeatureManagement.FeatureFilters;

namespace Ops.Modules.KillSwitch.FeatureFlags;

/// <summary>
/// A feature flag's value is <c>true</c>, <c>false</c>, or a definition in Microsoft's feature flag schema (the
/// <c>feature_management.feature_flags[]</c> element of appsettings, without its <c>id</c>): <c>enabled</c>,
/// <c>conditions</c> (<c>requirement_type</c>, <c>client_filters</c>), <c>variants</c>, <c>allocation</c>,
/// <c>telemetry</c>. Filter parameters may be written in Microsoft's PascalCase or in snake_case. Definitions are
/// validated here with the filters' own parameter binders, then parsed by Microsoft's own schema parser, so what
/// is accepted is exactly what FeatureManagement evaluates.
/// </summary>
internal static class FeatureDefinitions
{
    public const string Percentage = "Microsoft.Percentage";
    public const string TimeWindow = "Microsoft.TimeWindow";
    public const string Targeting = "Microsoft.Targeting";
    public const string AlwaysOn = "AlwaysOn";

    private static readonly string[] TopLevel = ["id", "description", "enabled", "conditions", "variants", "allocation", "telemetry"];
    private static readonly string[] ConditionFields = ["requirement_type", "client_filters"];
    private static readonly string[] FilterFields = ["name", "parameters"];
    private static readonly string[] VariantFields = ["name", "configuration_value", "status_override"];
    private static readonly string[] AllocationFields = ["default_when_enabled", "default_when_disabled", "user", "group", "percentile", "seed"];
    private static readonly string[] TelemetryFields = ["enabled", "metadata"];

    private static readonly Dictionary<string, string> FilterNames = new(StringComparer.OrdinalIgnoreCase)
    {
        [Percentage] = Percentage,
        ["Percentage"] = Percentage,
        [TimeWindow] = TimeWindow,
        ["TimeWindow"] = TimeWindow,
        [Targeting] = Targeting,
        ["Targeting"] = Targeting,
        [AlwaysOn] = AlwaysOn,
        ["On"] = AlwaysOn,
    };

    private static readonly Dictionary<string, IFilterParametersBinder> Binders = new(StringComparer.Ordinal)
    {
        [Percentage] = new PercentageFilter(),
        [TimeWindow] = new TimeWindowFilter(),
        [Targeting] = new ContextualTargetingFilter(),
    };

    /// <summary>Every problem of a feature flag value, each with the path of the offending field (starting at <c>value</c>).</summary>
    public static IReadOnlyList<(string Field, string Message)> Validate(string key, JsonElement value)
    {
        var errors = new List<(string Field, string Message)>();
        if (value.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return errors;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add(("value", "a feature flag's value is true, false, or a feature definition object (enabled, conditions, variants, allocation)."));
            return errors;
        }

        var root = JsonNode.Parse(value.GetRawText())!.AsObject();
        Unknown(root, "value", TopLevel, errors);
        if (root["id"] is { } id && (id.GetValueKind() != JsonValueKind.String || id.GetValue<string>() != key))
        {
            errors.Add(("value.id", $"is taken from the key; omit it or set it to '{key}'."));
        }

        if (root["enabled"] is not { } enabled || enabled.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
        {
            errors.Add(("value.enabled", "is required: true or false (false turns the feature off whatever its conditions)."));
        }

        if (root["description"] is { } description && description.GetValueKind() != JsonValueKind.String)
        {
            errors.Add(("value.description", "must be a string."));
        }

        var variantNames = ValidateVariants(root["variants"], errors);
        ValidateConditions(root["conditions"], errors);
        ValidateAllocation(root["allocation"], variantNames, errors);
        ValidateTelemetry(root["telemetry"], errors);
        return errors;
    }

    /// <summary>Parses a valid value into FeatureManagement's definition, named <paramref name="qualifiedName"/>.</summary>
    public static async Task<FeatureDefinition> BuildAsync(string qualifiedName, JsonElement value)
    {
        var definition = value.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? new JsonObject { ["enabled"] = value.ValueKind == JsonValueKind.True }
            : JsonNode.Parse(value.GetRawText())!.AsObject();
        definition.Remove("description");
        definition["id"] = qualifiedName;
        if (definition["conditions"]?["client_filters"] is JsonArray filters)
        {
            foreach (var filter in filters.OfType<JsonObject>())
            {
                if (filter["name"] is JsonValue name && FilterNames.TryGetValue(name.GetValue<string>(), out var canonical))
                {
                    filter["name"] = canonical;
                }

                if (filter["parameters"] is JsonObject parameters)
                {
                    filter["parameters"] = NormalizeKeys(parameters);
                }
            }
        }

        var document = new JsonObject { ["feature_management"] = new JsonObject { ["feature_flags"] = new JsonArray(definition) } };
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(document.ToJsonString()))).Build();
        using var provider = new ConfigurationFeatureDefinitionProvider(configuration);
        return await provider.GetFeatureDefinitionAsync(qualifiedName)
            ?? throw new InvalidOperationException($"The definition of '{qualifiedName}' could not be parsed.");
    }

    /// <summary>The stored configuration of a variant, as JSON (FeatureManagement hands it back as strings only).</summary>
    public static JsonElement? VariantConfiguration(JsonElement value, string variant)
    {
        if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty("variants", out var variants) || variants.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        foreach (var candidate in variants.EnumerateArray())
        {
            if (candidate.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String && name.GetString() == variant)
            {
                return candidate.TryGetProperty("configuration_value", out var configuration) ? configuration.Clone() : null;
            }
        }

        return null;
    }

    private static void ValidateConditions(JsonNode? node, List<(string, string)> errors)
    {
        if (node is null)
        {
            return;
        }

        if (node is not JsonObject conditions)
        {
            errors.Add(("value.conditions", "must be an object with requirement_type and client_filters."));
            return;
        }

        Unknown(conditions, "value.conditions", ConditionFields, errors);
        if (conditions["requirement_type"] is { } requirement
            && (requirement.GetValueKind() != JsonValueKind.String || !Enum.TryParse<RequirementType>(requirement.GetValue<string>(), ignoreCase: true, out _)))
        {
            errors.Add(("value.conditions.requirement_type", "must be Any or All."));
        }

        if (conditions["client_filters"] is not { } filtersNode)
        {
            return;
        }

        if (filtersNode is not JsonArray filters)
        {
            errors.Add(("value.conditions.client_filters", "must be an array of { name, parameters }."));
            return;
        }

        for (var i = 0; i < filters.Count; i++)
        {
            var path = $"value.conditions.client_filters[{i}]";
            if (filters[i] is not JsonObject filter)
            {
                errors.Add((path, "must be an object { name, parameters }."));
                continue;
            }

            Unknown(filter, path, FilterFields, errors);
            if (filter["name"] is not JsonValue nameValue || nameValue.GetValueKind() != JsonValueKind.String || !FilterNames.TryGetValue(nameValue.GetValue<string>(), out var name))
            {
                errors.Add(($"{path}.name", $"must be one of the built-in filters: {Percentage}, {TimeWindow}, {Targeting} (or {AlwaysOn})."));
                continue;
            }

            var parameters = filter["parameters"];
            if (parameters is not null and not JsonObject)
            {
                errors.Add(($"{path}.parameters", "must be an object."));
                continue;
            }

            if (Binders.TryGetValue(name, out var binder))
            {
                ValidateParameters(name, binder, NormalizeKeys((JsonObject?)parameters ?? []), $"{path}.parameters", errors);
            }
        }
    }

    private static void ValidateParameters(string filter, IFilterParametersBinder binder, JsonObject parameters, string path, List<(string, string)> errors)
    {
        var count = errors.Count;
        switch (filter)
        {
            case Percentage:
                if (Find(parameters, "value") is not { } percentage || percentage.GetValueKind() != JsonValueKind.Number || percentage.GetValue<double>() is < 0 or > 100)
                {
                    errors.Add(($"{path}.value", "is required: the percentage of users (0–100) who get the feature; sticky per user."));
                }

                break;
            case TimeWindow:
                var start = Find(parameters, "start");
                var end = Find(parameters, "end");
                if (start is null && end is null)
                {
                    errors.Add((path, "needs start, end, or both (RFC 3339 or RFC 1123 timestamps)."));
                }

                DateTimeOffset? startAt = null;
                DateTimeOffset? endAt = null;
                if (start is not null && !TryTimestamp(start, out startAt))
                {
                    errors.Add(($"{path}.start", "must be a timestamp (RFC 3339, e.g. 2026-06-01T00:00:00Z, or RFC 1123)."));
                }

                if (end is not null && !TryTimestamp(end, out endAt))
                {
                    errors.Add(($"{path}.end", "must be a timestamp (RFC 3339, e.g. 2026-06-01T00:00:00Z, or RFC 1123)."));
                }

                if (startAt >= endAt)
                {
                    errors.Add(($"{path}.end", "must be after start."));
                }

                break;
            case Targeting:
                ValidateAudience(Find(parameters, "audience"), $"{path}.audience", errors);
                break;
        }

        if (errors.Count > count)
        {
            return;
        }

        try
        {
            // The filter's own binder: whatever it rejects here it would reject at evaluation time.
            var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(parameters.ToJsonString()))).Build();
            binder.BindParameters(configuration);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException)
        {
            var parameter = (ex as ArgumentException)?.ParamName;
            var named = parameter is not null && parameter.All(c => char.IsAsciiLetter(c) || c == '.');
            var message = parameter is null ? ex.Message : ex.Message.Replace($" (Parameter '{parameter}')", string.Empty, StringComparison.Ordinal);
            errors.Add((named ? $"{path}.{SnakeCase(parameter!)}" : path, message));
        }
    }

    private static void ValidateAudience(JsonNode? node, string path, List<(string, string)> errors)
    {
        if (node is not JsonObject audience)
        {
            errors.Add((path, "is required: { users, groups: [{ name, rollout_percentage }], default_rollout_percentage, exclusion: { users, groups } }."));
            return;
        }

        if (Find(audience, "defaultrolloutpercentage") is { } rollout)
        {
            Percent(rollout, $"{path}.default_rollout_percentage", errors);
        }

        Strings(Find(audience, "users"), $"{path}.users", errors);
        if (Find(audience, "groups") is { } groupsNode)
        {
            if (groupsNode is not JsonArray groups)
            {
                errors.Add(($"{path}.groups", "must be an array of { name, rollout_percentage }."));
            }
            else
            {
                for (var i = 0; i < groups.Count; i++)
                {
                    if (groups[i] is not JsonObject group || Find(group, "name") is not JsonValue name || name.GetValueKind() != JsonValueKind.String)
                    {
                        errors.Add(($"{path}.groups[{i}].name", "is required."));
                        continue;
                    }

                    Percent(Find(group, "rolloutpercentage"), $"{path}.groups[{i}].rollout_percentage", errors);
                }
            }
        }

        if (Find(audience, "exclusion") is { } exclusionNode)
        {
            if (exclusionNode is not JsonObject exclusion)
            {
                errors.Add(($"{path}.exclusion", "must be an object { users, groups }."));
                return;
            }

            Strings(Find(exclusion, "users"), $"{path}.exclusion.users", errors);
            Strings(Find(exclusion, "groups"), $"{path}.exclusion.groups", errors);
        }
    }

    private static void Strings(JsonNode? node, string path, List<(string, string)> errors)
    {
        if (node is not null && (node is not JsonArray items || items.Any(i => i?.GetValueKind() != JsonValueKind.String)))
        {
            errors.Add((path, "must be an array of strings."));
        }
    }

    private static HashSet<string> ValidateVariants(JsonNode? node, List<(string, string)> errors)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        if (node is null)
        {
            return names;
        }

        if (node is not JsonArray variants)
        {
            errors.Add(("value.variants", "must be an array of { name, configuration_value, status_override }."));
            return names;
        }

        for (var i = 0; i < variants.Count; i++)
        {
            var path = $"value.variants[{i}]";
            if (variants[i] is not JsonObject variant)
            {
                errors.Add((path, "must be an object."));
                continue;
            }

            Unknown(variant, path, VariantFields, errors);
            if (variant["name"] is not JsonValue name || name.GetValueKind() != JsonValueKind.String || string.IsNullOrWhiteSpace(name.GetValue<string>()))
            {
                errors.Add(($"{path}.name", "is required."));
            }
            else if (!names.Add(name.GetValue<string>()))
            {
                errors.Add(($"{path}.name", $"'{name.GetValue<string>()}' is defined twice."));
            }

            if (variant["status_override"] is { } statusOverride
                && (statusOverride.GetValueKind() != JsonValueKind.String || !Enum.TryParse<StatusOverride>(statusOverride.GetValue<string>(), ignoreCase: true, out _)))
            {
                errors.Add(($"{path}.status_override", "must be None, Enabled or Disabled."));
            }
        }

        return names;
    }

    private static void ValidateAllocation(JsonNode? node, HashSet<string> variants, List<(string, string)> errors)
    {
        if (node is null)
        {
            return;
        }

        if (node is not JsonObject allocation)
        {
            errors.Add(("value.allocation", "must be an object."));
            return;
        }

        Unknown(allocation, "value.allocation", AllocationFields, errors);
        foreach (var field in new[] { "default_when_enabled", "default_when_disabled" })
        {
            if (allocation[field] is { } reference)
            {
                VariantReference(reference, $"value.allocation.{field}", variants, errors);
            }
        }

        if (allocation["seed"] is { } seed && seed.GetValueKind() != JsonValueKind.String)
        {
            errors.Add(("value.allocation.seed", "must be a string."));
        }

        foreach (var (field, list) in new[] { ("user", "users"), ("group", "groups") })
        {
            if (allocation[field] is null)
            {
                continue;
            }

            if (allocation[field] is not JsonArray entries)
            {
                errors.Add(($"value.allocation.{field}", $"must be an array of {{ variant, {list} }}."));
                continue;
            }

            for (var i = 0; i < entries.Count; i++)
            {
                var path = $"value.allocation.{field}[{i}]";
                if (entries[i] is not JsonObject entry)
                {
                    errors.Add((path, "must be an object."));
                    continue;
                }

                Unknown(entry, path, ["variant", list], errors);
                VariantReference(entry["variant"], $"{path}.variant", variants, errors);
                if (entry[list] is not JsonArray members || members.Any(m => m?.GetValueKind() != JsonValueKind.String))
                {
                    errors.Add(($"{path}.{list}", "must be an array of strings."));
                }
            }
        }

        if (allocation["percentile"] is null)
        {
            return;
        }

        if (allocation["percentile"] is not JsonArray percentiles)
        {
            errors.Add(("value.allocation.percentile", "must be an array of { variant, from, to }."));
            return;
        }

        for (var i = 0; i < percentiles.Count; i++)
        {
            var path = $"value.allocation.percentile[{i}]";
            if (percentiles[i] is not JsonObject entry)
            {
                errors.Add((path, "must be an object."));
                continue;
            }

            Unknown(entry, path, ["variant", "from", "to"], errors);
            VariantReference(entry["variant"], $"{path}.variant", variants, errors);
            var from = Percent(entry["from"], $"{path}.from", errors);
            var to = Percent(entry["to"], $"{path}.to", errors);
            if (from > to)
            {
                errors.Add(($"{path}.to", "must not be below from."));
            }
        }
    }

    private static void ValidateTelemetry(JsonNode? node, List<(string, string)> errors)
    {
        if (node is null)
        {
            return;
        }

        if (node is not JsonObject telemetry)
        {
            errors.Add(("value.telemetry", "must be an object { enabled, metadata }."));
            return;
        }

        Unknown(telemetry, "value.telemetry", TelemetryFields, errors);
        if (telemetry["enabled"] is { } enabled && enabled.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
        {
            errors.Add(("value.telemetry.enabled", "must be true or false."));
        }

        if (telemetry["metadata"] is { } metadata && (metadata is not JsonObject entries || entries.Any(e => e.Value?.GetValueKind() != JsonValueKind.String)))
        {
            errors.Add(("value.telemetry.metadata", "must be an object of strings."));
        }
    }

    private static void VariantReference(JsonNode? reference, string path, HashSet<string> variants, List<(string, string)> errors)
    {
        if (reference is not JsonValue value || value.GetValueKind() != JsonValueKind.String || !variants.Contains(value.GetValue<string>()))
        {
            errors.Add((path, variants.Count == 0 ? "names a variant, but value.variants defines none." : $"must name a variant: {string.Join(", ", variants)}."));
        }
    }

    private static double Percent(JsonNode? node, string path, List<(string, string)> errors)
    {
        if (node is JsonValue value && value.GetValueKind() == JsonValueKind.Number && value.GetValue<double>() is >= 0 and <= 100)
        {
            return value.GetValue<double>();
        }

        errors.Add((path, "must be a number from 0 to 100."));
        return double.NaN;
    }

    private static void Unknown(JsonObject node, string path, IReadOnlyCollection<string> known, List<(string, string)> errors)
    {
        foreach (var (name, _) in node)
        {
            if (!known.Contains(name))
            {
                errors.Add(($"{path}.{name}", $"is not a field here; expected: {string.Join(", ", known)}."));
            }
        }
    }

    private static bool TryTimestamp(JsonNode node, out DateTimeOffset? at)
    {
        at = null;
        if (node is JsonValue value && value.GetValueKind() == JsonValueKind.String
            && DateTimeOffset.TryParse(value.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var parsed))
        {
            at = parsed;
            return true;
        }

        return false;
    }

    private static JsonNode? Find(JsonObject node, string name) =>
        node.FirstOrDefault(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    /// <summary>
    /// Filter settings bind case-insensitively, but not across underscores: <c>default_rollout_percentage</c>
    /// becomes <c>defaultrolloutpercentage</c>, which binds to <c>DefaultRolloutPercentage</c>.
    /// </summary>
    private static JsonObject NormalizeKeys(JsonObject parameters)
    {
        var result = new JsonObject();
        foreach (var (name, child) in parameters)
        {
            result[name.Replace("_", string.Empty, StringComparison.Ordinal)] = Normalize(child);
        }

        return result;

        static JsonNode? Normalize(JsonNode? node) => node switch
        {
            JsonObject obj => NormalizeKeys(obj),
            JsonArray array => new JsonArray([.. array.Select(Normalize)]),
            null => null,
            _ => node.DeepClone(),
        };
    }

    private static string SnakeCase(string name) =>
        string.Join('.', name.Split('.').Select(part => JsonNamingPolicy.SnakeCaseLower.ConvertName(part)));
}
