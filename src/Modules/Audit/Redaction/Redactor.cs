using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Ops.Modules.Audit.Contracts;

namespace Ops.Modules.Audit.Redaction;

/// <summary>The policy of each tenant (built-in field list plus its own patterns and fields), from memory.</summary>
internal interface IRedactionPolicies
{
    RedactionPolicy For(string tenantId);
}

/// <summary>
/// Redacts every string of an event before it is stored: property names and values at any depth, the built-in
/// detectors (<see cref="BuiltInRedaction"/>), then the tenant's patterns; values of always-redacted fields
/// become <c>[redacted]</c> whatever their type. Large JSON integers that are a CPF, CNPJ, phone or card number
/// are redacted too. Two paths with the same rules: over <see cref="JsonNode"/> (the contract) and streaming
/// from a <see cref="JsonElement"/> into a <see cref="Utf8JsonWriter"/> (ingestion: strings that need nothing are
/// copied as bytes, never allocated).
/// </summary>
internal sealed partial class Redactor(IRedactionPolicies policies, ILogger<Redactor> logger, Pseudonymizer? pseudonymizer = null) : IRedactor
{
    // Tests and benches that build a redactor by hand get a throwaway key; the host injects the deployment's.
    private readonly Pseudonymizer _pseudonymizer = pseudonymizer ?? new Pseudonymizer();

    /// <summary>Deeper than any document the JSON parser accepts; an in-process node nested deeper is redacted whole.</summary>
    private const int MaxDepth = 128;

    private const int StackBufferChars = 256;

    public string RedactText(string text, string tenantId) => RedactText(text, policies.For(tenantId));

    public JsonNode? Redact(JsonNode? node, string tenantId) => RedactNode(node, policies.For(tenantId), 0);

    public RedactionPolicy PolicyFor(string tenantId) => policies.For(tenantId);

    internal string RedactText(string text, RedactionPolicy policy) =>
        string.IsNullOrEmpty(text) ? text : RedactText(text, BuiltInRedaction.Inspect(text), policy);

    private string RedactText(string text, BuiltInRedaction.Scan scan, RedactionPolicy policy)
    {
        if (scan.Any)
        {
            text = BuiltInRedaction.Redact(text, scan);
        }

        if (policy.Patterns.Count == 0 || !policy.AnyPatternMatches(text))
        {
            return text;
        }

        foreach (var pattern in policy.Patterns)
        {
            try
            {
                text = pattern.Regex.Replace(text, pattern.Marker);
            }
            catch (RegexMatchTimeoutException)
            {
                // NonBacktracking is linear, so this means a huge string; never store what could not be checked.
                LogPatternTimeout(logger, pattern.Name, text.Length);
                return Markers.Redacted;
            }
        }

        return text;
    }

    /// <summary>Writes <paramref name="element"/> redacted. The element must come from a parsed document (valid UTF-8).</summary>
    internal void WriteRedacted(JsonElement element, Utf8JsonWriter writer, RedactionPolicy policy)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                HashSet<string>? renamed = null;
                foreach (var property in element.EnumerateObject())
                {
                    WriteRedactedProperty(property, writer, policy, ref renamed);
                }

                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                {
                    WriteRedacted(item, writer, policy);
                }

                writer.WriteEndArray();
                break;
            case JsonValueKind.String:
                var raw = JsonMarshal.GetRawUtf8Value(element);
                var inner = raw[1..^1];
                var redacted = inner.Contains((byte)'\\')
                    ? RedactText(element.GetString()!, policy)
                    : RedactUtf8(inner, policy, out _);
                if (redacted is null)
                {
                    writer.WriteStringValue(inner);
                }
                else
                {
                    writer.WriteStringValue(redacted);
                }

                break;
            case JsonValueKind.Number:
                var number = JsonMarshal.GetRawUtf8Value(element);
                var marker = ClassifyInteger(number);
                if (marker is null)
                {
                    writer.WriteRawValue(number, skipInputValidation: true);
                }
                else
                {
                    writer.WriteStringValue(marker);
                }

                break;
            default:
                element.WriteTo(writer);
                break;
        }
    }

    /// <summary>
    /// Writes one property, name and value redacted. <paramref name="renamed"/> tracks the redacted names of the
    /// enclosing object (start with null for each object).
    /// </summary>
    internal void WriteRedactedProperty(JsonProperty property, Utf8JsonWriter writer, RedactionPolicy policy, ref HashSet<string>? renamed)
    {
        var alwaysRedacted = WriteRedactedName(property, writer, policy, ref renamed);
        if (alwaysRedacted && property.Value.ValueKind != JsonValueKind.Null)
        {
            writer.WriteStringValue(Markers.Redacted);
        }
        else
        {
            WriteRedacted(property.Value, writer, policy);
        }
    }

    /// <summary>
    /// An identifier column (user_id, request_id): personal data in it becomes a keyed pseudonym (<c>[email:&lt;tag&gt;]</c>)
    /// rather than a bare marker, so distinct identifiers stay distinct (the idempotency key and per-user queries
    /// depend on it); a field the tenant always redacts becomes <c>[redacted:&lt;tag&gt;]</c>.
    /// </summary>
    internal string? RedactIdentifier(string name, string? value, RedactionPolicy policy)
    {
        if (string.IsNullOrEmpty(value))
        {
            return value;
        }

        if (policy.IsRedactedField(name))
        {
            return _pseudonymizer.Decorate(Markers.Redacted, value);
        }

        var scan = BuiltInRedaction.Inspect(value);
        var text = scan.Any ? BuiltInRedaction.Redact(value, scan, _pseudonymizer.Decorate) : value;
        if (policy.Patterns.Count == 0 || !policy.AnyPatternMatches(text))
        {
            return text;
        }

        foreach (var pattern in policy.Patterns)
        {
            try
            {
                text = pattern.Regex.Replace(text, match => _pseudonymizer.Decorate(pattern.Marker, match.ValueSpan));
            }
            catch (RegexMatchTimeoutException)
            {
                LogPatternTimeout(logger, pattern.Name, text.Length);
                return _pseudonymizer.Decorate(Markers.Redacted, value);
            }
        }

        return text;
    }

    /// <summary>A top-level text column (user_id, status, …): redacted whole if the tenant always redacts that field, else like any string.</summary>
    internal string? RedactColumn(string name, string? value, RedactionPolicy policy) =>
        value is null ? null : policy.IsRedactedField(name) ? Markers.Redacted : RedactText(value, policy);

    /// <summary>Writes the property's name, redacted; returns whether its value must be redacted whole.</summary>
    private bool WriteRedactedName(JsonProperty property, Utf8JsonWriter writer, RedactionPolicy policy, ref HashSet<string>? renamed)
    {
        var raw = JsonMarshal.GetRawUtf8PropertyName(property);
        if (raw.Contains((byte)'\\'))
        {
            var name = property.Name;
            var redactedEscaped = RedactText(name, policy);
            writer.WritePropertyName(ReferenceEquals(redactedEscaped, name) ? name : Unique(redactedEscaped, ref renamed));
            return policy.IsRedactedField(name);
        }

        var redactedName = RedactUtf8(raw, policy, out var alwaysRedacted, isName: true);
        if (redactedName is null)
        {
            writer.WritePropertyName(raw);
        }
        else
        {
            writer.WritePropertyName(Unique(redactedName, ref renamed));
        }

        return alwaysRedacted;
    }

    /// <summary>Two names redacted to the same marker must not collide (Postgres keeps only the last duplicate key).</summary>
    private static string Unique(string name, ref HashSet<string>? renamed)
    {
        renamed ??= new HashSet<string>(StringComparer.Ordinal);
        var unique = name;
        for (var suffix = 2; !renamed.Add(unique); suffix++)
        {
            unique = $"{name}#{suffix}";
        }

        return unique;
    }

    /// <summary>
    /// Decodes without allocating (stack or pooled buffer) and returns null when the text needs no change, so the
    /// caller copies the original bytes. For a property name, also says whether its value is always redacted.
    /// </summary>
    private string? RedactUtf8(ReadOnlySpan<byte> utf8, RedactionPolicy policy, out bool alwaysRedacted, bool isName = false)
    {
        char[]? rented = null;
        var chars = utf8.Length <= StackBufferChars ? stackalloc char[StackBufferChars] : (rented = ArrayPool<char>.Shared.Rent(utf8.Length));
        try
        {
            var text = chars[..Encoding.UTF8.GetChars(utf8, chars)];
            alwaysRedacted = isName && policy.IsRedactedField(text);
            return RedactSpan(text, policy);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    private string? RedactSpan(ReadOnlySpan<char> text, RedactionPolicy policy)
    {
        var scan = BuiltInRedaction.Inspect(text);
        if (!scan.Any && (policy.Patterns.Count == 0 || !policy.AnyPatternMatches(text)))
        {
            return null;
        }

        var original = text.ToString();
        var redacted = RedactText(original, scan, policy);
        return ReferenceEquals(redacted, original) ? null : redacted;
    }

    /// <summary>A marker for a JSON integer of 11–19 digits that is a CPF, CNPJ, phone or card number; null otherwise.</summary>
    private static string? ClassifyInteger(ReadOnlySpan<byte> number)
    {
        if (number.Length is < 11 or > 19 || number.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0)
        {
            return null;
        }

        Span<char> digits = stackalloc char[19];
        for (var i = 0; i < number.Length; i++)
        {
            digits[i] = (char)number[i];
        }

        return BuiltInRedaction.ClassifyDigits(digits[..number.Length]);
    }

    private JsonNode? RedactNode(JsonNode? node, RedactionPolicy policy, int depth) => node switch
    {
        null => null,
        _ when depth > MaxDepth => JsonValue.Create(Markers.Redacted),
        JsonObject obj => RedactObject(obj, policy, depth),
        JsonArray array => new JsonArray(array.Select(item => RedactNode(item, policy, depth + 1)).ToArray()),
        JsonValue value => RedactValue(value, policy),
        _ => node.DeepClone(),
    };

    private JsonObject RedactObject(JsonObject obj, RedactionPolicy policy, int depth)
    {
        var result = new JsonObject();
        HashSet<string>? renamed = null;
        foreach (var (name, value) in obj)
        {
            var redactedName = RedactText(name, policy);
            var key = ReferenceEquals(redactedName, name) && !result.ContainsKey(name) ? name : Unique(redactedName, ref renamed);
            result[key] = value is not null && policy.IsRedactedField(name)
                ? JsonValue.Create(Markers.Redacted)
                : RedactNode(value, policy, depth + 1);
        }

        return result;
    }

    private JsonNode RedactValue(JsonValue value, RedactionPolicy policy)
    {
        switch (value.GetValueKind())
        {
            case JsonValueKind.String:
                var text = value.GetValue<string>();
                var redacted = RedactText(text, policy);
                return JsonValue.Create(redacted);
            case JsonValueKind.Number:
                if (value.TryGetValue<long>(out var integer) && integer is > -10_000_000_000 and < 10_000_000_000)
                {
                    return value.DeepClone();
                }

                var marker = ClassifyInteger(Encoding.UTF8.GetBytes(value.ToJsonString()));
                return marker is null ? value.DeepClone() : JsonValue.Create(marker);
            default:
                return value.DeepClone();
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Redaction: tenant pattern {Pattern} timed out on a {Length}-character string; the whole string was stored as [redacted]")]
    private static partial void LogPatternTimeout(ILogger logger, string pattern, int length);
}
