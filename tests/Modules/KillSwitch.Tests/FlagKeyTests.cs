using Ops.Modules.KillSwitch.Contracts;
using Shouldly;
using Xunit;

namespace Ops.Modules.KillSwitch.Tests;

public sealed class FlagKeyTests
{
    [Theory]
    [InlineData("killall", FlagKind.Killall, "")]
    [InlineData("read_only", FlagKind.ReadOnly, "")]
    [InlineData("kill:user:u_8a3f", FlagKind.KillUser, "u_8a3f")]
    [InlineData("kill:user:auth0|123", FlagKind.KillUser, "auth0|123")]
    [InlineData("kill:agent:support-bot", FlagKind.KillAgent, "support-bot")]
    [InlineData("kill:model:ft:gpt-4o:acme:1", FlagKind.KillModel, "ft:gpt-4o:acme:1")]
    [InlineData("new-checkout", FlagKind.Feature, "new-checkout")]
    [InlineData("Reply.Style_v2", FlagKind.Feature, "Reply.Style_v2")]
    public void Valid_keys_parse_to_their_kind_and_subject_and_print_back(string key, FlagKind kind, string subject)
    {
        FlagKeys.TryParse(key, out var parsed, out var error).ShouldBeTrue(error);
        parsed.Kind.ShouldBe(kind);
        parsed.Subject.ShouldBe(subject.Length == 0 && kind == FlagKind.Feature ? key : subject);
        parsed.ToString().ShouldBe(key);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("kill:user:")]
    [InlineData("kill:user:has space")]
    [InlineData("kill:user:a/b")]
    [InlineData("kill:user:100%")]
    [InlineData("kill:session:s1")]
    [InlineData("feature:x")]
    [InlineData("KillAll")]
    [InlineData("Read_Only")]
    [InlineData("_private")]
    public void Invalid_keys_are_refused_with_a_reason(string? key)
    {
        FlagKeys.TryParse(key, out _, out var error).ShouldBeFalse();
        error.ShouldNotBeNullOrWhiteSpace();
    }

    [Fact]
    public void Subjects_are_limited_in_length()
    {
        FlagKeys.IsValidSubject(new string('a', 200)).ShouldBeTrue();
        FlagKeys.IsValidSubject(new string('a', 201)).ShouldBeFalse();
        FlagKeys.User("u_1").ShouldBe("kill:user:u_1");
        FlagKeys.Model("claude-opus-4-7").ShouldBe("kill:model:claude-opus-4-7");
    }
}
