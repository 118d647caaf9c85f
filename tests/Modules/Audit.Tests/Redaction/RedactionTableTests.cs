using Ops.Modules.Audit.Redaction;
using Shouldly;
using Xunit;

namespace Ops.Modules.Audit.Tests.Redaction;

/// <summary>
/// The built-in detectors on one string at a time: what must be redacted (with its typed marker) and the
/// look-alikes that must stay as they are (order numbers, dates, timestamps, version strings, invalid
/// check digits, UUIDs, hashes, MAC addresses, words that contain a key prefix).
/// </summary>
public sealed class RedactionTableTests
{
    private readonly Redactor _redactor = TestRedactors.Create();

    [Theory]
    // e-mail
    [InlineData("contact nei@email.com today", "contact [email] today")]
    [InlineData("joão.silva@exemplo.com.br", "[email]")]
    [InlineData("a.b+tag@sub.example.co.uk", "[email]")]
    [InlineData("mailto:Nei.Souza@Email.COM", "mailto:[email]")]
    [InlineData("?email=nei%40email.com&x=1", "?email=[email]&x=1")]
    // CPF and CNPJ (valid check digits)
    [InlineData("CPF 529.982.247-25", "CPF [cpf]")]
    [InlineData("cpf=52998224725", "cpf=[cpf]")]
    [InlineData("529982247-25", "[cpf]")]
    [InlineData("CNPJ 11.222.333/0001-81", "CNPJ [cnpj]")]
    [InlineData("11222333000181", "[cnpj]")]
    [InlineData("11222333/0001-81", "[cnpj]")]
    // phones: Brazilian and E.164
    [InlineData("(11) 98765-4321", "[phone]")]
    [InlineData("tel 11 98765-4321", "tel [phone]")]
    [InlineData("(21) 3456-7890", "[phone]")]
    [InlineData("+55 11 98765-4321", "[phone]")]
    [InlineData("+55 (11) 3456-7890", "[phone]")]
    [InlineData("+5511987654321", "[phone]")]
    [InlineData("whatsapp:5511987654321", "whatsapp:[phone]")]
    [InlineData("11987654321", "[phone]")]
    [InlineData("+1 415 555 0100", "[phone]")]
    [InlineData("+44 20 7946 0958", "[phone]")]
    [InlineData("+1-202-555-0173 ext", "[phone] ext")]
    [InlineData("call +55 11 98765-4321 2026", "call [phone] 2026")]
    // cards (Luhn-valid)
    [InlineData("4111 1111 1111 1111", "[card]")]
    [InlineData("card 4111111111111111 exp 12/29", "card [card] exp 12/29")]
    [InlineData("3782 822463 10005", "[card]")]
    [InlineData("5555-5555-5555-4444", "[card]")]
    [InlineData("6011111111111117", "[card]")]
    // IP addresses
    [InlineData("192.168.0.1", "[ip]")]
    [InlineData("from 10.0.0.1:5432", "from [ip]:5432")]
    [InlineData("2001:db8::1", "[ip]")]
    [InlineData("fe80::1ff:fe23:4567:890a", "[ip]")]
    [InlineData("::ffff:192.0.2.128", "[ip]")]
    [InlineData("[2001:db8:85a3:0:0:8a2e:370:7334]:443", "[[ip]]:443")]
    // secrets
    [InlineData("Authorization: Bearer abc123def456ghi", "Authorization: Bearer [secret]")]
    [InlineData("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "[secret]")]
    [InlineData("key sk-proj-abc123DEF456ghi789JKL", "key [secret]")]
    [InlineData("sk-ant-api03-abcdefghijklmnop1234", "[secret]")]
    [InlineData("sk_live_abcdefghijklmnop1234", "[secret]")]
    [InlineData("AKIAIOSFODNN7EXAMPLE", "[secret]")]
    [InlineData("token=ghp_1234567890abcdefghijABCDEFGHIJ123456", "token=[secret]")]
    [InlineData("ops_abcdefghij_ABCDEFGHIJKLMNOPQRSTUVWXYZ123456", "[secret]")]
    [InlineData("xoxb-123456789012-abcdefABCDEF", "[secret]")]
    [InlineData("AIzaSyD4x9Kq2LmN7pR1tV6wZ0bC3eF8gH5jK2m", "[secret]")]
    [InlineData("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----", "[secret]")]
    // several in one string, and the seed's own free-text example
    [InlineData("user nei@email.com paid with 4111 1111 1111 1111 from 192.168.0.1", "user [email] paid with [card] from [ip]")]
    [InlineData("2026-05-18 14:23 user nei@email.com asked about pricing, replied with R$ 99/mo plan, used 1247 tokens, took 2.3s, OK.",
        "2026-05-18 14:23 user [email] asked about pricing, replied with R$ 99/mo plan, used 1247 tokens, took 2.3s, OK.")]
    public void Personal_data_and_secrets_become_typed_markers(string input, string expected) =>
        _redactor.RedactText(input, TestRedactors.Tenant).ShouldBe(expected);

    [Theory]
    // the seed's own ids and values
    [InlineData("u_8a3f")]
    [InlineData("r_91c2")]
    [InlineData("chat.reply")]
    [InlineData("claude-opus-4-7")]
    [InlineData("price 0.0042")]
    [InlineData("tokens 412 835 2310")]
    // dates and timestamps
    [InlineData("2026-05-18T14:23:11Z")]
    [InlineData("2026-05-18 14:23:11.123+00:00")]
    [InlineData("18/05/2026")]
    [InlineData("at 14:23:11 UTC")]
    [InlineData("12:30")]
    [InlineData("1747578191")]
    [InlineData("1747578191000")]
    [InlineData("20260518142311")]
    // order numbers and amounts
    [InlineData("order 20260518001")]
    [InlineData("pedido ORD-2026-000123")]
    [InlineData("invoice 1234567890123456")]
    [InlineData("12345678")]
    [InlineData("the total was R$ 1.234,56")]
    // invalid check digits
    [InlineData("4111-1111-1111-1112")]
    [InlineData("529.982.247-26")]
    [InlineData("111.111.111-11")]
    [InlineData("11.222.333/0001-82")]
    [InlineData("12345678900")]
    // version strings and other dotted numbers
    [InlineData("version 10.0.15")]
    [InlineData("v1.2.3.4")]
    [InlineData("1.2.3.4.5")]
    [InlineData("4.0.30319.42000")]
    [InlineData("999.1.1.1")]
    // ids, hashes and colon-separated things
    [InlineData("550e8400-e29b-41d4-a716-446655440000")]
    [InlineData("550e8400-e29b-41d4-a716-551132345678")]
    [InlineData("sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")]
    [InlineData("00:1A:2B:3C:4D:5E")]
    [InlineData("std::vector<int>")]
    [InlineData("ZIP 90210-1234")]
    [InlineData("CEP 01310-100")]
    [InlineData("+5 -3")]
    // almost e-mails
    [InlineData("user@localhost")]
    [InlineData("lodash@4.17.21")]
    [InlineData("@Override")]
    // almost secrets
    [InlineData("task-management-overview-document")]
    [InlineData("sk-learn-is-a-python-library")]
    [InlineData("Bearer of bad news")]
    [InlineData("bearer responsibilities")]
    [InlineData("AKIA short")]
    [InlineData("ghp_short")]
    [InlineData("ops_settings_table")]
    public void Look_alikes_stay_as_they_are(string input) =>
        _redactor.RedactText(input, TestRedactors.Tenant).ShouldBe(input);

    [Fact]
    public void A_string_with_nothing_to_redact_is_returned_without_copying()
    {
        var text = "chat.reply by u_8a3f with claude-opus-4-7";
        _redactor.RedactText(text, TestRedactors.Tenant).ShouldBeSameAs(text);
    }
}
