using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Ops.Modules.Audit.Redaction;

/// <summary>
/// The detectors every tenant gets: secrets, e-mail addresses, IP addresses, CPF/CNPJ, phone numbers and card
/// numbers. Every regex is <see cref="RegexOptions.NonBacktracking"/> (linear time whatever the input) and finds
/// candidates only; the arithmetic that tells a CPF from an order number (check digits, Luhn, area codes) runs
/// in code on each candidate. A cheap one-pass scan decides which detectors a string needs at all, so the
/// common case (ids, model names, statuses) costs a few nanoseconds per character.
/// </summary>
internal static partial class BuiltInRedaction
{
    private const RegexOptions Options = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture;

    private static readonly SearchValues<string> SecretTriggers = SearchValues.Create(
        ["sk-", "sk_", "rk_", "AKIA", "ASIA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "ops_", "eyJ", "bearer", "AIza", "xox", "-----BEGIN"],
        StringComparison.OrdinalIgnoreCase);

    /// <summary>What a string may contain, from one pass over it: which detectors must run.</summary>
    internal readonly record struct Scan(bool Secrets, bool Email, bool Ipv6, bool Numeric)
    {
        public bool Any => Secrets || Email || Ipv6 || Numeric;
    }

    public static Scan Inspect(ReadOnlySpan<char> text)
    {
        int digits = 0, dots = 0, colons = 0;
        var at = false;
        foreach (var c in text)
        {
            if (char.IsAsciiDigit(c))
            {
                digits++;
            }
            else if (c == '.')
            {
                dots++;
            }
            else if (c == ':')
            {
                colons++;
            }
            else if (c == '@')
            {
                at = true;
            }
        }

        return new Scan(
            Secrets: text.Length >= 8 && text.IndexOfAny(SecretTriggers) >= 0,
            Email: at || (dots > 0 && text.Contains("%40", StringComparison.Ordinal)),
            Ipv6: colons >= 2 && digits > 0,
            // An IPv4 address needs 4 digits and 3 dots; every other numeric identifier needs at least 8 digits.
            Numeric: digits >= 8 || (digits >= 4 && dots >= 3));
    }

    /// <summary>Returns <paramref name="text"/> itself when nothing is found (no allocation).</summary>
    public static string Redact(string text) => Redact(text, Inspect(text));

    /// <param name="decorate">Rewrites each marker from the text it replaces (identifiers get keyed pseudonyms); null keeps plain markers.</param>
    public static string Redact(string text, Scan scan, Func<string, ReadOnlySpan<char>, string>? decorate = null)
    {
        if (scan.Secrets)
        {
            text = Replace(text, SecretCandidate(), ClassifySecret, decorate);
        }

        if (scan.Email)
        {
            text = Replace(text, EmailCandidate(), static (_, _, length) => (length, Markers.Email), decorate);
        }

        if (scan.Ipv6)
        {
            text = RedactIpv6(text, decorate);
        }

        if (scan.Numeric)
        {
            text = Replace(text, NumericCandidate(), ClassifyNumeric, decorate);
        }

        return text;
    }

    /// <summary>
    /// A JSON integer as an identifier: 11–19 digits that are a CPF, CNPJ, phone or card number get that
    /// marker; anything else (token counts, ids, timestamps) returns null.
    /// </summary>
    public static string? ClassifyDigits(ReadOnlySpan<char> digits)
    {
        if (digits.Length is < 11 or > 19)
        {
            return null;
        }

        switch (digits.Length)
        {
            case 11:
                if (Checksums.IsValidCpf(digits))
                {
                    return Markers.Cpf;
                }

                // A bare 11-digit phone is DDD + mobile (9…); landlines need formatting, or unix timestamps would match.
                return Checksums.IsBrazilianPhone(digits) ? Markers.Phone : null;
            case 12 or 13 when digits.StartsWith("55") && Checksums.IsBrazilianPhone(digits[2..]):
                return Markers.Phone;
            case 14 when Checksums.IsValidCnpj(digits):
                return Markers.Cnpj;
        }

        return Checksums.IsCardNumber(digits) ? Markers.Card : null;
    }

    /// <summary>Decides, for one candidate match, how many of its characters to replace (0 = keep it) and with what.</summary>
    private delegate (int Length, string Marker) Classifier(string text, int index, int length);

    private static string Replace(string text, Regex candidates, Classifier classify, Func<string, ReadOnlySpan<char>, string>? decorate)
    {
        StringBuilder? output = null;
        var copied = 0;
        foreach (var match in candidates.EnumerateMatches(text))
        {
            var (length, marker) = classify(text, match.Index, match.Length);
            if (length == 0)
            {
                continue;
            }

            output ??= new StringBuilder(text.Length);
            output.Append(text, copied, match.Index - copied).Append(decorate is null ? marker : decorate(marker, text.AsSpan(match.Index, length)));
            copied = match.Index + length;
        }

        return output is null ? text : output.Append(text, copied, text.Length - copied).ToString();
    }

    private static (int, string) ClassifySecret(string text, int index, int length)
    {
        var candidate = text.AsSpan(index, length);
        if (candidate.StartsWith("bearer", StringComparison.OrdinalIgnoreCase))
        {
            // "Bearer of bad news" is not a credential: a token has a digit (or base64 padding/punctuation).
            var token = candidate[6..].TrimStart(" \t");
            if (token.IndexOfAnyInRange('0', '9') < 0 && token.IndexOfAny("=._~+/-") < 0)
            {
                return (0, string.Empty);
            }

            return (length, string.Concat(candidate[..(length - token.Length)], Markers.Secret));
        }

        if (candidate.StartsWith("sk", StringComparison.Ordinal) || candidate.StartsWith("rk", StringComparison.Ordinal))
        {
            // Provider keys are random, so they contain digits; a long hyphenated slug ("task-management-…") does not.
            if (candidate[3..].IndexOfAnyInRange('0', '9') < 0)
            {
                return (0, string.Empty);
            }
        }

        return (length, Markers.Secret);
    }

    private static (int, string) ClassifyNumeric(string text, int index, int length)
    {
        var candidate = text.AsSpan(index, length);
        if (!StandsAlone(text, index, length))
        {
            return (0, string.Empty);
        }

        Span<char> digits = stackalloc char[32];
        var count = 0;
        int separators = 0, dots = 0;
        foreach (var c in candidate)
        {
            if (char.IsAsciiDigit(c))
            {
                if (count == digits.Length)
                {
                    return (0, string.Empty);
                }

                digits[count++] = c;
            }
            else
            {
                separators++;
                dots += c == '.' ? 1 : 0;
            }
        }

        var found = digits[..count];
        if (candidate[0] == '+')
        {
            return ClassifyInternationalPhone(candidate);
        }

        if (separators == 0)
        {
            var marker = IsUuidTail(text, index) ? null : ClassifyDigits(found);
            return marker is null ? (0, string.Empty) : (length, marker);
        }

        if (candidate.Contains('/'))
        {
            return Checksums.IsValidCnpj(found) ? (length, Markers.Cnpj) : (0, string.Empty);
        }

        if (dots == 3 && separators == 3)
        {
            return IsIpv4(candidate) ? (length, Markers.Ip) : (0, string.Empty);
        }

        if (count == 11 && candidate[^3] == '-' && (separators == 1 || dots == 2))
        {
            return Checksums.IsValidCpf(found) ? (length, Markers.Cpf) : (0, string.Empty);
        }

        if (candidate[0] == '(' || IndexOfSeparator(candidate) == 2)
        {
            // (DD) 9XXXX-XXXX, DD 9XXXX-XXXX, DD XXXX-XXXX
            return Checksums.IsBrazilianPhone(found) ? (length, Markers.Phone) : (0, string.Empty);
        }

        return Checksums.IsCardNumber(found) ? (length, Markers.Card) : (0, string.Empty);
    }

    /// <summary>
    /// +CC and groups. The candidate may run into a following number ("+55 11 98765-4321 2026"): the longest
    /// prefix, cut at a group boundary, that is a valid number is the phone; the rest stays.
    /// </summary>
    private static (int, string) ClassifyInternationalPhone(ReadOnlySpan<char> candidate)
    {
        Span<char> digits = stackalloc char[32];
        var best = 0;
        var count = 0;
        for (var i = 1; i < candidate.Length && count < digits.Length; i++)
        {
            var c = candidate[i];
            if (!char.IsAsciiDigit(c))
            {
                continue;
            }

            digits[count++] = c;
            var groupEnds = i + 1 == candidate.Length || !char.IsAsciiDigit(candidate[i + 1]);
            if (groupEnds && Checksums.IsInternationalPhone(digits[..count]))
            {
                best = i + 1;
            }
        }

        return best > 0 ? (best, Markers.Phone) : (0, string.Empty);
    }

    private static int IndexOfSeparator(ReadOnlySpan<char> candidate)
    {
        for (var i = 0; i < candidate.Length; i++)
        {
            if (!char.IsAsciiDigit(candidate[i]))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Glued to a word (<c>id12345678909</c>, <c>v1.2.3.4</c>) or to more digits (<c>1.2.3.4.5</c>) it is not an identifier of its own.</summary>
    private static bool StandsAlone(string text, int index, int length)
    {
        if (index > 0)
        {
            var before = text[index - 1];
            if (char.IsLetterOrDigit(before) || before == '_')
            {
                return false;
            }

            if (before is '.' or '-' or '/' && index > 1 && char.IsAsciiDigit(text[index - 2]))
            {
                return false;
            }
        }

        var end = index + length;
        if (end < text.Length)
        {
            var after = text[end];
            if (char.IsLetterOrDigit(after) || after == '_')
            {
                return false;
            }

            if (after is '.' or '-' or '/' && end + 1 < text.Length && char.IsAsciiDigit(text[end + 1]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The last group of a UUID (<c>…-a716-446655440000</c>) is 12 digits now and then; it is not a phone.</summary>
    private static bool IsUuidTail(string text, int index) =>
        index >= 6 && text[index - 1] == '-' && text[index - 6] == '-' && !text.AsSpan(index - 5, 4).ContainsAnyExcept(HexDigits);

    private static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789abcdefABCDEF");

    private static bool IsIpv4(ReadOnlySpan<char> candidate)
    {
        foreach (var range in candidate.Split('.'))
        {
            var part = candidate[range];
            if (part.Length is 0 or > 3 || int.Parse(part, System.Globalization.CultureInfo.InvariantCulture) > 255)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// IPv6 by hand: maximal runs of hex digits, colons and dots around a colon, standing alone, that parse as an
    /// IPv6 address with at least two groups and a digit (so <c>14:23:11</c>, MAC addresses, <c>std::vector</c>
    /// and <c>dead::beef</c> stay). Linear: each character is visited a bounded number of times.
    /// </summary>
    private static string RedactIpv6(string text, Func<string, ReadOnlySpan<char>, string>? decorate)
    {
        StringBuilder? output = null;
        var copied = 0;
        var position = 0;
        while (position < text.Length)
        {
            var colon = text.IndexOf(':', position);
            if (colon < 0)
            {
                break;
            }

            var start = colon;
            while (start > 0 && IsIpv6Char(text[start - 1]))
            {
                start--;
            }

            var end = colon;
            while (end < text.Length && IsIpv6Char(text[end]))
            {
                end++;
            }

            var trimmedEnd = end;
            while (trimmedEnd > start && text[trimmedEnd - 1] == '.')
            {
                trimmedEnd--;
            }

            var before = start > 0 ? text[start - 1] : ' ';
            var after = trimmedEnd < text.Length ? text[trimmedEnd] : ' ';
            var alone = !(char.IsLetterOrDigit(before) || before == '_') && !(char.IsLetterOrDigit(after) || after == '_');
            if (alone && IsIpv6(text.AsSpan(start, trimmedEnd - start)))
            {
                output ??= new StringBuilder(text.Length);
                output.Append(text, copied, start - copied).Append(decorate is null ? Markers.Ip : decorate(Markers.Ip, text.AsSpan(start, trimmedEnd - start)));
                copied = trimmedEnd;
            }

            position = end + 1;
        }

        return output is null ? text : output.Append(text, copied, text.Length - copied).ToString();
    }

    private static bool IsIpv6Char(char c) => char.IsAsciiHexDigit(c) || c is ':' or '.';

    private static bool IsIpv6(ReadOnlySpan<char> candidate)
    {
        if (candidate.Length is < 3 or > 45 || candidate.IndexOfAnyInRange('0', '9') < 0)
        {
            return false;
        }

        var groups = 0;
        foreach (var range in candidate.Split(':'))
        {
            groups += candidate[range].IsEmpty ? 0 : 1;
        }

        var compressed = candidate.Contains("::", StringComparison.Ordinal);
        if (compressed ? groups < 2 : groups < 7)
        {
            return false;
        }

        return IPAddress.TryParse(candidate, out var address) && address.AddressFamily == AddressFamily.InterNetworkV6;
    }

    /// <summary>Credentials: provider API keys, this product's keys, JWTs, bearer tokens, PEM private keys.</summary>
    [GeneratedRegex(
        @"\b(sk-|[sr]k_(live|test)_)[A-Za-z0-9_\-]{16,}" +
        @"|\b(AKIA|ASIA)[0-9A-Z]{16}\b" +
        @"|\bgh[pousr]_[A-Za-z0-9]{30,}" +
        @"|\bgithub_pat_[A-Za-z0-9_]{40,}" +
        @"|\bops_[a-z0-9]{4,32}_[A-Za-z0-9]{24,}" +
        @"|\bAIza[0-9A-Za-z_\-]{35}" +
        @"|\bxox[abprs]-[A-Za-z0-9\-]{10,}" +
        @"|\beyJ[A-Za-z0-9_\-]{2,}\.[A-Za-z0-9_\-]{2,}\.[A-Za-z0-9_\-]*" +
        @"|\b[Bb][Ee][Aa][Rr][Ee][Rr][ \t]+[A-Za-z0-9._~+/\-]{8,}=*" +
        @"|-----BEGIN [A-Z ]*PRIVATE KEY-----[^\-]*-----END [A-Z ]*PRIVATE KEY-----",
        Options)]
    private static partial Regex SecretCandidate();

    /// <summary>Addresses, also URL-encoded (<c>%40</c>); Unicode letters included so <c>joão@…</c> goes whole.</summary>
    [GeneratedRegex(@"[\p{L}\p{N}][\p{L}\p{N}._%+\-]*(@|%40)[\p{L}\p{N}\-]+(\.[\p{L}\p{N}\-]+)*\.\p{L}{2,}", Options)]
    private static partial Regex EmailCandidate();

    /// <summary>Shapes of numeric identifiers; <see cref="ClassifyNumeric"/> verifies each.</summary>
    [GeneratedRegex(
        @"[0-9]{2}\.[0-9]{3}\.[0-9]{3}/[0-9]{4}-[0-9]{2}" + // CNPJ 11.222.333/0001-81
        @"|[0-9]{8}/[0-9]{4}-[0-9]{2}" + // CNPJ 11222333/0001-81
        @"|[0-9]{3}\.[0-9]{3}\.[0-9]{3}-[0-9]{2}" + // CPF 529.982.247-25
        @"|[0-9]{9}-[0-9]{2}" + // CPF 529982247-25
        @"|[0-9]{4}([ \-][0-9]{4}){2}[ \-][0-9]{1,7}" + // card 4111 1111 1111 1111
        @"|[0-9]{4}[ \-][0-9]{6}[ \-][0-9]{4,5}" + // card 3782 822463 10005
        @"|\+[1-9][0-9 ().\-]{5,22}[0-9]" + // +55 (11) 98765-4321, +1 415 555 0100
        @"|\([0-9]{2}\) ?[0-9]{4,5}[ .\-]?[0-9]{4}" + // (11) 98765-4321
        @"|[0-9]{2}[ .\-][0-9]{4,5}[ .\-]?[0-9]{4}" + // 11 98765-4321
        @"|[0-9]{1,3}(\.[0-9]{1,3}){3}" + // 192.168.0.1
        @"|[0-9]{11,19}", // bare CPF, CNPJ, phone, card
        Options)]
    private static partial Regex NumericCandidate();
}
