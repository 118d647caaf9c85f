using System.Text.RegularExpressions;

namespace Ops.Modules.Audit.Redaction;

/// <summary>
/// Compiles a tenant's pattern the only way it may run: NonBacktracking (linear time, so no input can make it
/// hang) with a match timeout as a second guard. Constructs NonBacktracking cannot run (lookarounds,
/// backreferences, atomic groups) and patterns whose automaton would be too large are refused with a reason.
/// </summary>
internal static class PatternCompiler
{
    private const RegexOptions Options = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture;

    public static bool TryCompile(string pattern, TimeSpan timeout, out Regex? regex, out string? error)
    {
        regex = null;
        try
        {
            var compiled = new Regex(pattern, Options, timeout);
            if (compiled.IsMatch(string.Empty))
            {
                error = "must not match the empty string (it would insert a marker between every character).";
                return false;
            }

            regex = compiled;
            error = null;
            return true;
        }
        catch (RegexParseException ex)
        {
            error = $"is not a valid regular expression: {ex.Error} at offset {ex.Offset}.";
        }
        catch (NotSupportedException ex)
        {
            // NonBacktracking's own message names the construct (lookaround, backreference, …) or the size limit.
            error = $"cannot run in linear time: {ex.Message}";
        }
        catch (ArgumentException ex)
        {
            error = $"is not a valid regular expression: {ex.Message}";
        }

        return false;
    }

    /// <summary>Compiles a pattern that was validated when it was saved; one that no longer compiles is skipped by the caller.</summary>
    public static Regex? CompileStored(string pattern, TimeSpan timeout) =>
        TryCompile(pattern, timeout, out var regex, out _) ? regex : null;
}
