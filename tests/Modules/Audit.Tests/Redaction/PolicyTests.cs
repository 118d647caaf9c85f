using System.Text.RegularExpressions;
using Ops.Modules.Audit.Redaction;
using Shouldly;
using Xunit;

namespace Ops.Modules.Audit.Tests.Redaction;

public sealed class PolicyTests
{
    [Theory]
    [InlineData("password")]
    [InlineData("Password")]
    [InlineData("PASSWORD")]
    [InlineData("pass_word")]
    [InlineData("api_key")]
    [InlineData("apiKey")]
    [InlineData("API-KEY")]
    [InlineData("Authorization")]
    [InlineData("prompt")]
    public void Field_names_match_ignoring_case_and_separators(string name) =>
        TestRedactors.Policy(fields: ["prompt"]).IsRedactedField(name).ShouldBeTrue();

    [Theory]
    [InlineData("tokens_in")]
    [InlineData("password_hint_shown")]
    [InlineData("prompts")]
    [InlineData("user_id")]
    public void Other_field_names_do_not_match(string name) =>
        TestRedactors.Policy(fields: ["prompt"]).IsRedactedField(name).ShouldBeFalse();

    [Theory]
    [InlineData("(?<=a)b", "cannot run in linear time")]
    [InlineData("(?=a)b", "cannot run in linear time")]
    [InlineData(@"(?<x>a)\k<x>", "cannot run in linear time")]
    [InlineData("(?>a+)b", "cannot run in linear time")]
    [InlineData("((a{100}){100}){100}", "cannot run in linear time")]
    [InlineData("(a", "is not a valid regular expression")]
    [InlineData("[z-a]", "is not a valid regular expression")]
    [InlineData("a*", "must not match the empty string")]
    [InlineData("x?|", "must not match the empty string")]
    public void Patterns_that_could_hang_or_do_not_compile_are_refused_with_a_reason(string pattern, string reason)
    {
        PatternCompiler.TryCompile(pattern, TimeSpan.FromSeconds(1), out var regex, out var error).ShouldBeFalse();
        regex.ShouldBeNull();
        error.ShouldNotBeNull().ShouldStartWith(reason);
    }

    [Fact]
    public void Accepted_patterns_run_non_backtracking_with_a_timeout()
    {
        PatternCompiler.TryCompile("ORD-[0-9]{6}", TimeSpan.FromMilliseconds(100), out var regex, out var error).ShouldBeTrue();
        error.ShouldBeNull();
        regex!.Options.HasFlag(RegexOptions.NonBacktracking).ShouldBeTrue();
        regex.MatchTimeout.ShouldBe(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void Tenant_patterns_apply_after_the_built_in_detectors_with_their_own_marker()
    {
        var redactor = TestRedactors.Create(patterns: [("ticket", "TCK-[0-9]+"), ("employee", "emp#[a-z]{3}")]);
        redactor.RedactText("TCK-991 opened by emp#abc for nei@email.com", TestRedactors.Tenant)
            .ShouldBe("[ticket] opened by [employee] for [email]");
    }

    [Theory]
    [InlineData("52998224725", true)]
    [InlineData("52998224726", false)]
    [InlineData("00000000000", false)]
    public void Cpf_check_digits(string digits, bool valid) => Checksums.IsValidCpf(digits).ShouldBe(valid);

    [Theory]
    [InlineData("11222333000181", true)]
    [InlineData("12345678000195", true)]
    [InlineData("11222333000182", false)]
    [InlineData("11111111111111", false)]
    public void Cnpj_check_digits(string digits, bool valid) => Checksums.IsValidCnpj(digits).ShouldBe(valid);

    [Theory]
    [InlineData("4111111111111111", true)]
    [InlineData("378282246310005", true)]
    [InlineData("4111111111111112", false)]
    [InlineData("20260518123456", false)]
    [InlineData("9876543210987654", false)]
    public void Card_numbers_need_a_scheme_prefix_and_Luhn(string digits, bool valid) => Checksums.IsCardNumber(digits).ShouldBe(valid);
}
