namespace Ops.Modules.Audit.Redaction;

/// <summary>
/// The arithmetic that tells real identifiers from look-alikes: CPF and CNPJ check digits, the Luhn checksum of
/// card numbers, and Brazilian area codes (DDD). Inputs are ASCII digit spans.
/// </summary>
internal static class Checksums
{
    public static bool IsValidCpf(ReadOnlySpan<char> digits)
    {
        if (digits.Length != 11 || AllSame(digits))
        {
            return false;
        }

        for (var check = 9; check <= 10; check++)
        {
            var sum = 0;
            for (var i = 0; i < check; i++)
            {
                sum += (digits[i] - '0') * (check + 1 - i);
            }

            if (digits[check] - '0' != sum * 10 % 11 % 10)
            {
                return false;
            }
        }

        return true;
    }

    public static bool IsValidCnpj(ReadOnlySpan<char> digits)
    {
        if (digits.Length != 14 || AllSame(digits))
        {
            return false;
        }

        ReadOnlySpan<int> weights = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];
        for (var check = 12; check <= 13; check++)
        {
            var sum = 0;
            var offset = 13 - check;
            for (var i = 0; i < check; i++)
            {
                sum += (digits[i] - '0') * weights[i + offset];
            }

            var remainder = sum % 11;
            if (digits[check] - '0' != (remainder < 2 ? 0 : 11 - remainder))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// 13–19 digits whose length and first digits match a card scheme (Visa 4, Mastercard 2/5, Amex 34/37,
    /// Diners 30/36/38/39, JCB 35, Discover/Elo/Hipercard/Maestro/UnionPay 5/6) and that pass the Luhn check. The
    /// prefixes keep 14-digit timestamps (20260518142311) and ids from being taken for cards.
    /// </summary>
    public static bool IsCardNumber(ReadOnlySpan<char> digits)
    {
        var schemeMatches = digits.Length switch
        {
            13 => digits[0] == '4',
            14 => digits[0] == '3' && digits[1] is '0' or '6' or '8' or '9',
            15 => digits[0] == '3' && digits[1] is '4' or '7',
            16 => digits[0] is >= '2' and <= '6',
            17 or 18 or 19 => digits[0] is '4' or '5' or '6' || (digits[0] == '3' && digits[1] == '5'),
            _ => false,
        };
        if (!schemeMatches)
        {
            return false;
        }

        var sum = 0;
        var doubled = false;
        for (var i = digits.Length - 1; i >= 0; i--)
        {
            var d = digits[i] - '0';
            if (doubled)
            {
                d *= 2;
                if (d > 9)
                {
                    d -= 9;
                }
            }

            sum += d;
            doubled = !doubled;
        }

        return sum % 10 == 0;
    }

    /// <summary>A Brazilian area code (DDD) that exists.</summary>
    public static bool IsBrazilianAreaCode(char tens, char units) => (tens - '0') switch
    {
        1 => units is >= '1' and <= '9',
        2 => units is '1' or '2' or '4' or '7' or '8',
        3 => units is >= '1' and <= '8' and not '6',
        4 => units is >= '1' and <= '9',
        5 => units is '1' or '3' or '4' or '5',
        6 => units is >= '1' and <= '9',
        7 => units is '1' or '3' or '4' or '5' or '7' or '9',
        8 => units is >= '1' and <= '9',
        9 => units is >= '1' and <= '9',
        _ => false,
    };

    /// <summary>
    /// A Brazilian number after its country code: DDD then a 9-digit mobile (starting with 9) or an 8-digit
    /// landline (starting with 2–5).
    /// </summary>
    public static bool IsBrazilianPhone(ReadOnlySpan<char> digits) =>
        digits.Length switch
        {
            11 => IsBrazilianAreaCode(digits[0], digits[1]) && digits[2] == '9',
            10 => IsBrazilianAreaCode(digits[0], digits[1]) && digits[2] is >= '2' and <= '5',
            _ => false,
        };

    /// <summary>E.164: at most 15 digits, country code not starting with 0; Brazil (55) must also be a valid Brazilian number.</summary>
    public static bool IsInternationalPhone(ReadOnlySpan<char> digits)
    {
        if (digits.Length is < 8 or > 15 || digits[0] == '0')
        {
            return false;
        }

        return !digits.StartsWith("55") || IsBrazilianPhone(digits[2..]);
    }

    private static bool AllSame(ReadOnlySpan<char> digits) => digits.IndexOfAnyExcept(digits[0]) < 0;
}
