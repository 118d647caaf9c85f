using System.Collections.Frozen;
using System.Text.RegularExpressions;

namespace Ops.Modules.Audit.Redaction;

/// <summary>One tenant's extra pattern, compiled: matches become <c>[name]</c>.</summary>
internal sealed record TenantPattern(string Name, string Pattern, Regex Regex)
{
    public string Marker { get; } = $"[{Name}]";
}

/// <summary>
/// What is redacted for one tenant on top of the built-in detectors: its extra patterns, and the field names
/// whose values are always replaced (the operator's list plus the tenant's). Immutable; replaced as a whole
/// when the tenant's settings change.
/// </summary>
internal sealed class RedactionPolicy
{
    private const int MaxFieldNameLength = 128;
    private readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> _fields;

    /// <summary>
    /// All patterns as one alternation, so a string that matches none (nearly all) is scanned once rather than
    /// once per pattern; null when there are no patterns or the union would exceed the automaton size limit.
    /// </summary>
    private readonly Regex? _anyPattern;

    public RedactionPolicy(IEnumerable<string> redactedFields, IReadOnlyList<TenantPattern> patterns)
    {
        var fields = redactedFields.Select(NormalizeFieldName).Where(f => f.Length > 0).ToFrozenSet(StringComparer.Ordinal);
        _fields = fields.GetAlternateLookup<ReadOnlySpan<char>>();
        Patterns = patterns;
        if (patterns.Count > 1)
        {
            PatternCompiler.TryCompile(string.Join('|', patterns.Select(p => $"(?:{p.Pattern})")), patterns[0].Regex.MatchTimeout, out _anyPattern, out _);
        }
        else if (patterns.Count == 1)
        {
            _anyPattern = patterns[0].Regex;
        }
    }

    public IReadOnlyList<TenantPattern> Patterns { get; }

    /// <summary>
    /// Field names match ignoring case and separators, so <c>password</c> also covers <c>Password</c>,
    /// <c>PASSWORD</c> and <c>pass_word</c>; <c>api_key</c> covers <c>apiKey</c> and <c>api-key</c>.
    /// </summary>
    public bool IsRedactedField(ReadOnlySpan<char> name)
    {
        if (name.Length > MaxFieldNameLength || _fields.Set.Count == 0)
        {
            return false;
        }

        Span<char> normalized = stackalloc char[MaxFieldNameLength];
        var length = Normalize(name, normalized);
        return length > 0 && _fields.Contains(normalized[..length]);
    }

    /// <summary>Whether any tenant pattern matches (a pattern that runs out of time counts as a match: fail closed).</summary>
    public bool AnyPatternMatches(ReadOnlySpan<char> text)
    {
        try
        {
            if (_anyPattern is not null)
            {
                return _anyPattern.IsMatch(text);
            }

            foreach (var pattern in Patterns)
            {
                if (pattern.Regex.IsMatch(text))
                {
                    return true;
                }
            }

            return false;
        }
        catch (RegexMatchTimeoutException)
        {
            return true;
        }
    }

    public static string NormalizeFieldName(string name)
    {
        Span<char> buffer = stackalloc char[MaxFieldNameLength];
        return name.Length > MaxFieldNameLength ? string.Empty : new string(buffer[..Normalize(name, buffer)]);
    }

    private static int Normalize(ReadOnlySpan<char> name, Span<char> destination)
    {
        var length = 0;
        foreach (var c in name)
        {
            if (c is '_' or '-' or ' ' or '.')
            {
                continue;
            }

            destination[length++] = char.ToLowerInvariant(c);
        }

        return length;
    }
}
