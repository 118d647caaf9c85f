using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Shouldly;
using Xunit;

namespace Ops.Modules.Audit.Tests.Redaction;

/// <summary>
/// Whole documents: every string at any depth (property names included), always-redacted fields whatever their
/// value, big integers that are identifiers, tenant patterns — the same result through the JsonNode contract and
/// the streaming path ingestion uses.
/// </summary>
public sealed class JsonRedactionTests
{
    private const string Document = """
        {
          "ts": "2026-05-18T14:23:11Z",
          "user_id": "u_8a3f",
          "tokens_in": 412,
          "cost_usd": 0.0042,
          "ok": true,
          "nothing": null,
          "customer": {
            "email": "nei@email.com",
            "phones": ["+55 11 98765-4321", "(21) 3456-7890", 42],
            "documents": [{ "cpf": "529.982.247-25" }, { "cnpj": 11222333000181 }],
            "Password": { "old": "hunter2", "new": "hunter3" },
            "api-key": "plain",
            "notes": null
          },
          "nei@email.com": "a key that is an e-mail",
          "joe@email.com": "another one",
          "headers": { "Authorization": "Bearer abc123def456ghi" },
          "order": "ORD-123456 for 4111 1111 1111 1111",
          "prompt": "my CPF is 529.982.247-25",
          "big_id": 20260518142311,
          "card_as_number": 4111111111111111
        }
        """;

    private static readonly string Expected = JsonNode.Parse("""
        {
          "ts": "2026-05-18T14:23:11Z",
          "user_id": "u_8a3f",
          "tokens_in": 412,
          "cost_usd": 0.0042,
          "ok": true,
          "nothing": null,
          "customer": {
            "email": "[email]",
            "phones": ["[phone]", "[phone]", 42],
            "documents": [{ "cpf": "[cpf]" }, { "cnpj": "[cnpj]" }],
            "Password": "[redacted]",
            "api-key": "[redacted]",
            "notes": null
          },
          "[email]": "a key that is an e-mail",
          "[email]#2": "another one",
          "headers": { "Authorization": "[redacted]" },
          "order": "[order] for [card]",
          "prompt": "[redacted]",
          "big_id": 20260518142311,
          "card_as_number": "[card]"
        }
        """)!.ToJsonString();

    private readonly Ops.Modules.Audit.Redaction.Redactor _redactor = TestRedactors.Create(
        patterns: [("order", "ORD-[0-9]{6}")],
        fields: ["prompt"]);

    [Fact]
    public void The_contract_redacts_every_string_at_any_depth_including_property_names()
    {
        var redacted = _redactor.Redact(JsonNode.Parse(Document), TestRedactors.Tenant)!;
        redacted.ToJsonString().ShouldBe(Expected);
    }

    [Fact]
    public void The_streaming_path_gives_the_same_document() =>
        Stream(Document).ToJsonString().ShouldBe(Expected);

    [Fact]
    public void Escaped_strings_and_names_are_redacted_too()
    {
        var result = Stream("""{"n\u0065i@email.com": "caf\u00e9 nei\u0040email.com", "pass\u0077ord": "x"}""").AsObject();
        result["[email]"]!.GetValue<string>().ShouldBe("café [email]");
        result["password"]!.GetValue<string>().ShouldBe("[redacted]");
    }

    /// <summary>The ingestion path: from the parsed request straight to the writer.</summary>
    private JsonNode Stream(string json)
    {
        using var document = JsonDocument.Parse(json);
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            _redactor.WriteRedacted(document.RootElement, writer, _redactor.PolicyFor(TestRedactors.Tenant));
        }

        return JsonNode.Parse(buffer.WrittenSpan)!;
    }

    [Fact]
    public void Arrays_at_the_top_and_deep_nesting_are_walked()
    {
        var deep = JsonNode.Parse("[[[[[{\"a\": [[[\"nei@email.com\"]]]}]]]]]");
        _redactor.Redact(deep, TestRedactors.Tenant)!.ToJsonString().ShouldBe("[[[[[{\"a\":[[[\"[email]\"]]]}]]]]]");
    }

    [Fact]
    public void A_node_nested_deeper_than_any_parser_allows_is_redacted_whole()
    {
        JsonNode node = new JsonArray("nei@email.com");
        for (var i = 0; i < 200; i++)
        {
            node = new JsonArray(node);
        }

        _redactor.Redact(node, TestRedactors.Tenant)!.ToJsonString().ShouldNotContain("email.com");
    }

    [Fact]
    public void The_input_node_is_left_untouched()
    {
        var input = JsonNode.Parse("""{"email": "nei@email.com"}""")!;
        _redactor.Redact(input, TestRedactors.Tenant);
        input["email"]!.GetValue<string>().ShouldBe("nei@email.com");
    }
}
