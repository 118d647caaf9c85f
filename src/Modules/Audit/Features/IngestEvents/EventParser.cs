using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using Ops.Modules.Audit.Redaction;
using Ops.Modules.Audit.Writing;

namespace Ops.Modules.Audit.Features.IngestEvents;

/// <summary>One field error of one event of a batch.</summary>
internal sealed record IngestError(int Index, string? Field, string Reason);

/// <summary>
/// Validates one event of a batch and turns it into a <see cref="StoredEvent"/>, redacting as it goes: ts,
/// user_id, request_id, action and status become columns; every other field (the seed's tokens, cost, latency
/// and model included, each checked for its type) is written, redacted, straight from the request bytes into
/// the details JSON, which is size-capped.
/// </summary>
internal sealed partial class EventParser
{
    private readonly Redactor _redactor;
    private readonly RedactionPolicy _policy;
    private readonly AuditOptions _options;
    private readonly string _tenantId;
    private readonly DateTimeOffset _now;
    private readonly DateTimeOffset _retentionCutoff;
    private readonly int _retentionDays;
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private readonly Utf8JsonWriter _writer;

    public EventParser(Redactor redactor, AuditOptions options, string tenantId, DateTimeOffset now, int retentionDays, DateTimeOffset retentionCutoff)
    {
        _redactor = redactor;
        _policy = redactor.PolicyFor(tenantId);
        _options = options;
        _tenantId = tenantId;
        _now = now;
        _retentionDays = retentionDays;
        _retentionCutoff = retentionCutoff;
        _writer = new Utf8JsonWriter(_buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true });
    }

    /// <summary>Returns the event, or null after adding its errors to <paramref name="errors"/>.</summary>
    public StoredEvent? Parse(JsonElement item, int index, List<IngestError> errors)
    {
        var errorCount = errors.Count;
        void Fail(string field, string reason) => errors.Add(new IngestError(index, field, reason));

        DateTimeOffset? ts = null;
        string? userId = null, requestId = null, action = null, status = null;
        string? largestExtra = null;
        long largestExtraBytes = 0;
        HashSet<string>? renamed = null;

        _buffer.ResetWrittenCount();
        _writer.Reset(_buffer);
        _writer.WriteStartObject();
        foreach (var property in item.EnumerateObject())
        {
            var value = property.Value;
            if (property.NameEquals("ts"u8))
            {
                ts = ParseTimestamp(value, Fail);
                continue;
            }

            if (property.NameEquals("user_id"u8))
            {
                userId = RequiredText(value, "user_id", Fail);
                continue;
            }

            if (property.NameEquals("request_id"u8))
            {
                requestId = RequiredText(value, "request_id", Fail);
                continue;
            }

            if (property.NameEquals("action"u8))
            {
                action = RequiredText(value, "action", Fail);
                if (action is not null && !ActionPattern().IsMatch(action))
                {
                    Fail("action", "must start with a letter or digit and contain only letters, digits and . _ : / - (e.g. chat.reply).");
                    action = null;
                }

                continue;
            }

            if (property.NameEquals("status"u8))
            {
                status = OptionalText(value, "status", Fail);
                continue;
            }

            if (property.NameEquals("tenant_id"u8))
            {
                if (value.ValueKind != JsonValueKind.String || value.GetString() != _tenantId)
                {
                    Fail("tenant_id", "must be omitted: the tenant comes from the API key.");
                }

                continue;
            }

            if (!CheckStandardDetail(property, Fail))
            {
                continue;
            }

            var before = _writer.BytesPending + _writer.BytesCommitted;
            _redactor.WriteRedactedProperty(property, _writer, _policy, ref renamed);
            var size = _writer.BytesPending + _writer.BytesCommitted - before;
            if (size > largestExtraBytes)
            {
                largestExtraBytes = size;
                largestExtra = property.Name;
            }
        }

        _writer.WriteEndObject();
        _writer.Flush();

        if (userId is null && !errors.Skip(errorCount).Any(e => e.Field == "user_id"))
        {
            Fail("user_id", "is required.");
        }

        if (requestId is null && !errors.Skip(errorCount).Any(e => e.Field == "request_id"))
        {
            Fail("request_id", "is required (with action, it makes a retry idempotent).");
        }

        if (action is null && !errors.Skip(errorCount).Any(e => e.Field == "action"))
        {
            Fail("action", "is required.");
        }

        if (_buffer.WrittenCount > _options.MaxExtraFieldsBytes)
        {
            Fail(largestExtra ?? "body", $"the fields beyond ts, user_id, request_id, action and status take {_buffer.WrittenCount} bytes; at most {_options.MaxExtraFieldsBytes} are kept (this one is the largest).");
        }

        if (errors.Count > errorCount)
        {
            return null;
        }

        return new StoredEvent(
            _tenantId,
            ts ?? _now,
            _redactor.RedactText(action!, _policy),
            _redactor.RedactIdentifier("user_id", userId, _policy),
            _redactor.RedactIdentifier("request_id", requestId, _policy)!,
            _redactor.RedactColumn("status", status, _policy),
            Actor: null,
            System.Text.Encoding.UTF8.GetString(_buffer.WrittenSpan));
    }

    private DateTimeOffset? ParseTimestamp(JsonElement value, Action<string, string> fail)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String
            || !TimestampPattern().IsMatch(value.GetString()!)
            || !DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out var ts))
        {
            fail("ts", "must be an RFC 3339 timestamp with a time zone, e.g. 2026-05-18T14:23:11Z.");
            return null;
        }

        if (ts > _now + _options.MaxFutureSkew)
        {
            fail("ts", $"is more than {_options.MaxFutureSkewSeconds} s in the future; check the sender's clock.");
            return null;
        }

        if (ts < _retentionCutoff)
        {
            fail("ts", $"is older than this tenant's audit retention ({_retentionDays} days, events before {_retentionCutoff:yyyy-MM-dd} are deleted); it would be purged at once.");
            return null;
        }

        return ts;
    }

    private string? RequiredText(JsonElement value, string field, Action<string, string> fail)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var text = OptionalText(value, field, fail);
        if (text is { Length: 0 })
        {
            fail(field, "must not be empty.");
            return null;
        }

        return text;
    }

    private string? OptionalText(JsonElement value, string field, Action<string, string> fail)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Null:
                return null;
            case JsonValueKind.String:
                var text = value.GetString()!;
                if (text.Length > _options.MaxFieldLength)
                {
                    fail(field, $"must be at most {_options.MaxFieldLength} characters.");
                    return null;
                }

                return text;
            default:
                fail(field, "must be a string.");
                return null;
        }
    }

    /// <summary>The seed's optional fields must have their type; they are stored with the other details. Returns false when invalid.</summary>
    private bool CheckStandardDetail(JsonProperty property, Action<string, string> fail)
    {
        var value = property.Value;
        if (value.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (property.NameEquals("tokens_in"u8) || property.NameEquals("tokens_out"u8))
        {
            if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var tokens) || tokens < 0)
            {
                fail(property.Name, "must be a non-negative integer.");
                return false;
            }
        }
        else if (property.NameEquals("cost_usd"u8) || property.NameEquals("latency_ms"u8))
        {
            if (value.ValueKind != JsonValueKind.Number || !value.TryGetDecimal(out var amount) || amount < 0)
            {
                fail(property.Name, "must be a non-negative number.");
                return false;
            }
        }
        else if (property.NameEquals("model"u8))
        {
            return OptionalText(value, "model", fail) is not null;
        }

        return true;
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._:/\-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex ActionPattern();

    /// <summary>A date, a time, and an explicit zone (Z or ±hh:mm): a timestamp without a zone is ambiguous.</summary>
    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+\-]\d{2}:?\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex TimestampPattern();
}
