namespace Ops.Modules.Usage.Reading;

internal static class Money
{
    /// <summary>Drops the trailing zeros numeric(30,12) sums carry (0.004200000000 → 0.0042); the value is unchanged.</summary>
    public static decimal Normalize(decimal value) => value / 1.000000000000000000000000000000000m;

    /// <summary>100 × part / whole, rounded to 2 places; null when the whole is 0.</summary>
    public static decimal? Percent(decimal part, decimal whole) => whole == 0 ? null : Normalize(decimal.Round(100m * part / whole, 2, MidpointRounding.AwayFromZero));
}
