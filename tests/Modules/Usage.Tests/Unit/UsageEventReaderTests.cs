using System.Text.Json;
using System.Text.Json.Nodes;
using Ops.Modules.Audit.Contracts;
using Ops.Modules.Usage.Ingestion;
using Shouldly;
using Xunit;

namespace Ops.Modules.Usage.Tests.Unit;

public sealed class UsageEventReaderTests
{
    public const string SeedLine =
        """{"ts":"2026-05-18T14:23:11Z","user_id":"u_8a3f","request_id":"r_91c2","action":"chat.reply","tokens_in":412,"tokens_out":835,"cost_usd":0.0042,"latency_ms":2310,"model":"claude-opus-4-7","status":"ok"}""";

    private static readonly DateTimeOffset Now = new(2026, 5, 18, 15, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_seed_line_is_read_as_it_is()
    {
        var e = Read(SeedLine, out var errors)!;
        errors.ShouldBeEmpty();
        e.RequestId.ShouldBe("r_91c2");
        e.UserId.ShouldBe("u_8a3f");
        e.Action.ShouldBe("chat.reply");
        e.Timestamp.ShouldBe(new DateTimeOffset(2026, 5, 18, 14, 23, 11, TimeSpan.Zero));
        e.TokensIn.ShouldBe(412);
        e.TokensOut.ShouldBe(835);
        e.ReportedCostUsd.ShouldBe(0.0042m);
        e.LatencyMs.ShouldBe(2310);
        e.IsError.ShouldBeFalse();
        e.Model.ShouldBe("claude-opus-4-7");
    }

    [Fact]
    public void Escaped_property_names_are_read_like_plain_ones_and_unknown_fields_are_ignored()
    {
        var e = Read("""{"request\u005fid":"r1","user_id":"u1","model":"m","tokens_in":1,"tokens_out":2,"surprise":{"x":1}}""", out var errors)!;
        errors.ShouldBeEmpty();
        e.RequestId.ShouldBe("r1");
    }

    [Fact]
    public void Defaults_fill_what_is_missing()
    {
        var e = Read("""{"request_id":"r1","user_id":"u1","model":"m","tokens_in":1,"tokens_out":2}""", out _)!;
        e.Timestamp.ShouldBe(Now);
        e.Action.ShouldBe("llm.call");
        e.ReportedProvider.ShouldBeNull();
        e.CacheReadTokens.ShouldBe(0);
        e.IsError.ShouldBeFalse();
        Read("""{"request_id":"r1","user_id":"u1","model":"m","tokens_in":1,"tokens_out":2,"error_type":"timeout"}""", out _)!.IsError.ShouldBeTrue();
    }

    [Fact]
    public void Every_field_error_is_reported_by_its_wire_name()
    {
        Read(
            """{"request_id":"","model":3,"tokens_in":-1,"tokens_out":1.5,"status":"meh","severity":"fatal","feedback":"meh","cost_usd":-1,"metadata":[1],"ts":"2026-05-18T14:23:11"}""",
            out var errors).ShouldBeNull();
        errors.Select(e => e.Name).Order().ShouldBe(
            ["cost_usd", "feedback", "metadata", "model", "request_id", "severity", "status", "tokens_in", "tokens_out", "ts", "user_id"]);
    }

    [Theory]
    [InlineData("""{"cache_read_tokens":11}""", "cache_read_tokens")]
    [InlineData("""{"cache_read_tokens":6,"cache_write_tokens":5}""", "cache_write_tokens")]
    [InlineData("""{"latency_ms":100,"ttft_ms":101}""", "ttft_ms")]
    [InlineData("""{"ts":"2026-05-18T15:05:01Z"}""", "ts")]
    [InlineData("""{"user_id":"a\u0000b"}""", "user_id")]
    public void Cross_field_rules_are_enforced(string extra, string field)
    {
        var json = JsonNode.Parse("""{"request_id":"r1","user_id":"u1","model":"m","tokens_in":10,"tokens_out":2}""")!.AsObject();
        foreach (var (name, value) in JsonNode.Parse(extra)!.AsObject())
        {
            json[name] = value?.DeepClone();
        }

        Read(json.ToJsonString(), out var errors).ShouldBeNull();
        errors.Single().Name.ShouldBe(field);
    }

    [Fact]
    public void Five_minutes_ahead_is_accepted_and_a_zone_offset_is_converted_to_utc()
    {
        Read("""{"request_id":"r1","user_id":"u1","model":"m","tokens_in":1,"tokens_out":2,"ts":"2026-05-18T15:05:00Z"}""", out _).ShouldNotBeNull();
        Read("""{"request_id":"r1","user_id":"u1","model":"m","tokens_in":1,"tokens_out":2,"ts":"2026-05-18T12:00:00-03:00"}""", out _)!
            .Timestamp.ShouldBe(new DateTimeOffset(2026, 5, 18, 15, 0, 0, TimeSpan.Zero));
        Read("""{"request_id":"r1","user_id":"u1","model":"m","tokens_in":1,"tokens_out":2,"ts":"1999-01-01T00:00:00Z"}""", out _).ShouldNotBeNull("any past date is accepted");
    }

    [Fact]
    public void Metadata_is_capped_and_redacted()
    {
        var e = Read("""{"request_id":"r1","user_id":"u1","model":"m","tokens_in":1,"tokens_out":2,"metadata":{"note":"mail nei@email.com"}}""", out _)!;
        e.MetadataJson.ShouldBe("""{"note":"mail [redacted]"}""");

        var big = new string('x', 9_000);
        Read("""{"request_id":"r1","user_id":"u1","model":"m","tokens_in":1,"tokens_out":2,"metadata":{"note":""" + $"\"{big}\"" + "}}", out var errors).ShouldBeNull();
        errors.Single().ShouldSatisfyAllConditions(e => e.Name.ShouldBe("metadata"), e => e.IsOverCap.ShouldBeTrue());
    }

    private static UsageEvent? Read(string json, out List<FieldError> errors)
    {
        errors = [];
        using var document = JsonDocument.Parse(json);
        var context = new EventReadContext(Now, TimeSpan.FromMinutes(5), 8 * 1024, "acme", new FakeRedactor());
        return UsageEventReader.Read(document.RootElement, 0, context, errors);
    }

    /// <summary>Stands in for the Audit module's redactor: marks any '@'-word so the test sees redaction applied.</summary>
    private sealed class FakeRedactor : IRedactor
    {
        public string RedactText(string text, string tenantId) =>
            string.Join(' ', text.Split(' ').Select(w => w.Contains('@', StringComparison.Ordinal) ? "[redacted]" : w));

        public JsonNode? Redact(JsonNode? node, string tenantId) => node switch
        {
            JsonObject o => new JsonObject(o.Select(p => KeyValuePair.Create(RedactText(p.Key, tenantId), Redact(p.Value, tenantId)))),
            JsonValue v when v.TryGetValue<string>(out var s) => JsonValue.Create(RedactText(s, tenantId)),
            _ => node?.DeepClone(),
        };
    }
}
