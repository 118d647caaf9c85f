using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Ops.Modules.Audit.Contracts;

namespace Ops.Modules.Audit.Redaction;

/// <summary>
/// Pattern-based redaction with NonBacktracking regexes (linear time on any input, so hostile strings cannot hang it).
/// Candidates that need arithmetic to tell apart from look-alikes (CPF check digits) are verified before replacing.
/// </summary>
internal sealed partial class Redactor : IRedactor
{
    private const RegexOptions Options = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant;

    public string RedactText(string text, string tenantId)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text;
        }

        text = Secret().Replace(text, "[secret]");
        text = Email().Replace(text, "[email]");
        text = CpfCandidate().Replace(text, m => IsValidCpf(m.Value) ? "[cpf]" : m.Value);
        return text;
    }

    public JsonNode? Redact(JsonNode? node, string tenantId) => node switch
    {
        null => null,
        JsonObject obj => RedactObject(obj, tenantId),
        JsonArray array => new JsonArray(array.Select(item => Redact(item, tenantId)).ToArray()),
        JsonValue value when value.TryGetValue<string>(out var text) => JsonValue.Create(RedactText(text, tenantId)),
        _ => node.DeepClone(),
    };

    private JsonObject RedactObject(JsonObject obj, string tenantId)
    {
        var result = new JsonObject();
        foreach (var (name, value) in obj)
        {
            var key = RedactText(name, tenantId);
            var suffix = 2;
            var unique = key;
            while (result.ContainsKey(unique))
            {
                unique = $"{key}#{suffix++}";
            }

            result[unique] = Redact(value, tenantId);
        }

        return result;
    }

    internal static bool IsValidCpf(string candidate)
    {
        Span<int> digits = stackalloc int[11];
        var count = 0;
        foreach (var c in candidate)
        {
            if (char.IsAsciiDigit(c))
            {
                if (count == 11)
                {
                    return false;
                }

                digits[count++] = c - '0';
            }
        }

        if (count != 11 || digits.IndexOfAnyExcept(digits[0]) < 0)
        {
            return false;
        }

        for (var check = 9; check <= 10; check++)
        {
            var sum = 0;
            for (var i = 0; i < check; i++)
            {
                sum += digits[i] * (check + 1 - i);
            }

            var expected = sum * 10 % 11 % 10;
            if (digits[check] != expected)
            {
                return false;
            }
        }

        return true;
    }

    [GeneratedRegex(@"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(\.[A-Za-z0-9\-]{1,63}){0,8}\.[A-Za-z]{2,24}", Options)]
    private static partial Regex Email();

    [GeneratedRegex(@"(?<![0-9])([0-9]{3}\.[0-9]{3}\.[0-9]{3}-[0-9]{2}|[0-9]{11})(?![0-9])", RegexOptions.CultureInvariant)]
    private static partial Regex CpfCandidate();

    [GeneratedRegex(@"(Bearer\s+[A-Za-z0-9._~+/\-]{8,}=*|sk-ant-[A-Za-z0-9_\-]{16,}|sk-[A-Za-z0-9_\-]{16,}|AKIA[0-9A-Z]{16}|ghp_[A-Za-z0-9]{36}|ops_[a-z0-9]{4,32}_[A-Za-z0-9]{24,}|eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,})", Options)]
    private static partial Regex Secret();
}
