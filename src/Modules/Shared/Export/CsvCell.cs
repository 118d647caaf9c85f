namespace Ops.Modules.Shared.Export;

/// <summary>CSV (RFC 4180) cells that are safe to open in a spreadsheet.</summary>
public static class CsvCell
{
    /// <summary>
    /// Neutralises formula triggers (a text cell starting with = + - @, tab or carriage return gets an apostrophe, so
    /// opening an export never runs what someone once logged), then quotes per RFC 4180 when needed.
    /// </summary>
    public static string Escape(string value)
    {
        if (value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            value = "'" + value;
        }

        return value.AsSpan().IndexOfAny(",\"\r\n") < 0 ? value : "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }
}
