using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Ops.Modules.KillSwitch.Contracts;

/// <summary>A parsed flag key: its kind and, for per-user/agent/model kills and features, the subject.</summary>
public readonly record struct FlagKey(FlagKind Kind, string Subject)
{
    public override string ToString() => Kind switch
    {
        FlagKind.Killall => FlagKeys.KillAll,
        FlagKind.ReadOnly => FlagKeys.ReadOnly,
        FlagKind.KillUser => FlagKeys.UserPrefix + Subject,
        FlagKind.KillAgent => FlagKeys.AgentPrefix + Subject,
        FlagKind.KillModel => FlagKeys.ModelPrefix + Subject,
        _ => Subject,
    };
}

/// <summary>
/// The flag key grammar: <c>killall</c>, <c>read_only</c>, <c>kill:user:{user_id}</c>, <c>kill:agent:{agent_id}</c>,
/// <c>kill:model:{model}</c>, or a feature name (letters, digits, <c>.</c>, <c>_</c>, <c>-</c>; no <c>:</c>, which
/// is reserved for the built-in kill flags).
/// </summary>
public static partial class FlagKeys
{
    public const string KillAll = "killall";
    public const string ReadOnly = "read_only";
    public const string UserPrefix = "kill:user:";
    public const string AgentPrefix = "kill:agent:";
    public const string ModelPrefix = "kill:model:";
    public const int MaxSubjectLength = 200;
    public const int MaxFeatureLength = 128;

    public const string SubjectRule = "1–200 characters, no whitespace, control characters or any of / ? # % \\";

    public static string User(string userId) => Build(UserPrefix, userId);

    public static string Agent(string agentId) => Build(AgentPrefix, agentId);

    public static string Model(string model) => Build(ModelPrefix, model);

    /// <summary>Parses a key; on failure <paramref name="error"/> says what is wrong, in words fit for an API client.</summary>
    public static bool TryParse(string? key, out FlagKey parsed, [NotNullWhen(false)] out string? error)
    {
        parsed = default;
        error = null;
        if (string.IsNullOrEmpty(key))
        {
            error = "is required.";
            return false;
        }

        if (key == KillAll)
        {
            parsed = new FlagKey(FlagKind.Killall, string.Empty);
            return true;
        }

        if (key == ReadOnly)
        {
            parsed = new FlagKey(FlagKind.ReadOnly, string.Empty);
            return true;
        }

        if (key.StartsWith("kill:", StringComparison.Ordinal))
        {
            (FlagKind Kind, string Prefix)? match =
                key.StartsWith(UserPrefix, StringComparison.Ordinal) ? (FlagKind.KillUser, UserPrefix)
                : key.StartsWith(AgentPrefix, StringComparison.Ordinal) ? (FlagKind.KillAgent, AgentPrefix)
                : key.StartsWith(ModelPrefix, StringComparison.Ordinal) ? (FlagKind.KillModel, ModelPrefix)
                : null;
            if (match is not { } m)
            {
                error = $"'{key}' is not a kill flag: use kill:user:{{user_id}}, kill:agent:{{agent_id}} or kill:model:{{model}}.";
                return false;
            }

            var subject = key[m.Prefix.Length..];
            if (!IsValidSubject(subject))
            {
                error = $"the id after '{m.Prefix}' must be {SubjectRule}.";
                return false;
            }

            parsed = new FlagKey(m.Kind, subject);
            return true;
        }

        if (key.Contains(':', StringComparison.Ordinal))
        {
            error = "':' is reserved for the built-in kill flags (kill:user:{user_id}, kill:agent:{agent_id}, kill:model:{model}); a feature name may not contain it.";
            return false;
        }

        if (!FeatureName().IsMatch(key))
        {
            error = $"must be killall, read_only, a kill flag, or a feature name of 1–{MaxFeatureLength} letters, digits, '.', '_' or '-' starting with a letter or digit.";
            return false;
        }

        if (string.Equals(key, KillAll, StringComparison.OrdinalIgnoreCase) || string.Equals(key, ReadOnly, StringComparison.OrdinalIgnoreCase))
        {
            error = $"'{key}' is too close to a built-in flag name; built-in names are lowercase.";
            return false;
        }

        parsed = new FlagKey(FlagKind.Feature, key);
        return true;
    }

    /// <summary>Whether a user id, agent id or model name can be part of a kill flag key (and so can be checked).</summary>
    public static bool IsValidSubject(string? subject)
    {
        if (string.IsNullOrEmpty(subject) || subject.Length > MaxSubjectLength)
        {
            return false;
        }

        foreach (var c in subject)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c) || c is '/' or '?' or '#' or '%' or '\\')
            {
                return false;
            }
        }

        return true;
    }

    private static string Build(string prefix, string subject) =>
        IsValidSubject(subject) ? prefix + subject : throw new ArgumentException($"The id must be {SubjectRule}.", nameof(subject));

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex FeatureName();
}
