using System.Text;
using System.Text.Json.Nodes;
using Shouldly;
using Xunit;

namespace Ops.Modules.Audit.Tests.Redaction;

/// <summary>
/// Inputs built to make backtracking regexes explode (the seed's <c>[\w.+-]+@…</c> is quadratic on a long word
/// followed by '@'). Every detector here is linear, so each finishes; the bound is only a hang detector, set two
/// orders of magnitude above what they take (throughput is measured in bench/, not asserted here).
/// </summary>
public sealed class HostileInputTests
{
    private static readonly TimeSpan HangDetector = TimeSpan.FromSeconds(60);
    private const int Size = 1 << 20;

    public static TheoryData<string> HostileStrings => new()
    {
        "email-like",
        "digits",
        "dotted-digits",
        "colons",
        "hex-and-colons",
        "plus-and-parens",
        "bearer",
        "key-prefixes",
        "at-signs",
        "unicode-letters",
    };

    [Theory]
    [MemberData(nameof(HostileStrings))]
    public async Task A_megabyte_of_hostile_text_is_redacted_without_hanging(string kind)
    {
        var text = Build(kind);
        var redactor = TestRedactors.Create();
        var result = await Task.Run(() => redactor.RedactText(text, TestRedactors.Tenant)).WaitAsync(HangDetector);
        result.ShouldNotBeNull();
    }

    [Fact]
    public async Task A_classic_catastrophic_pattern_from_a_tenant_runs_in_linear_time()
    {
        var redactor = TestRedactors.Create(patterns: [("evil", "(a+)+$"), ("nested", "(x|xx)+y")]);
        var text = new string('a', Size) + "!" + new string('x', Size);
        var result = await Task.Run(() => redactor.RedactText(text, TestRedactors.Tenant)).WaitAsync(HangDetector);
        result.ShouldBe(text);
    }

    [Fact]
    public async Task A_wide_hostile_document_is_redacted_without_hanging()
    {
        var obj = new JsonObject();
        for (var i = 0; i < 2000; i++)
        {
            obj[$"k{i}@{new string('a', 200)}"] = new string('1', 500) + "@" + new string('b', 500);
        }

        var redactor = TestRedactors.Create();
        var result = await Task.Run(() => redactor.Redact(obj, TestRedactors.Tenant)).WaitAsync(HangDetector);
        result!.AsObject().Count.ShouldBe(2000);
    }

    private static string Build(string kind)
    {
        var builder = new StringBuilder(Size + 16);
        string unit = kind switch
        {
            "email-like" => "a.",
            "digits" => "1",
            "dotted-digits" => "1.",
            "colons" => ":",
            "hex-and-colons" => "a1:",
            "plus-and-parens" => "+(1) ",
            "bearer" => "Bearer ",
            "key-prefixes" => "sk-ghp_AKIAeyJops_",
            "at-signs" => "a@",
            "unicode-letters" => "ção",
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        while (builder.Length < Size)
        {
            builder.Append(unit);
        }

        return builder.Append(kind == "email-like" ? "@" : string.Empty).ToString();
    }
}
