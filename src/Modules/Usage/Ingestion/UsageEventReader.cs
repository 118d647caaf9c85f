using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ops.Modules.Audit.Contracts;

namespace Ops.Modules.Usage.Ingestion;

/// <summary>What validation needs besides the event: the receive time, the caps and the tenant (for redaction).</summary>
internal readonly record struct EventReadContext(DateTimeOffset ReceivedAt, TimeSpan MaxFutureSkew, int MaxMetadataBytes, string TenantId, IRedactor Redactor);

/// <summary>
/// Validates one event object of the wire format (docs/api.md, Usage) field by field, collecting every field error
/// rather than stopping at the first. Unknown fields are ignored (clients may send more than we store).
/// </summary>
internal static class UsageEventReader
{
    public const string DefaultAction = "llm.call";
    private static readonly JsonSerializerOptions CompactJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private const int MaxIdLength = 256;
    private static readonly string[] Statuses = ["ok", "error"];
    private const int MaxNameLength = 200;

    public static UsageEvent? Read(JsonElement element, int index, in EventReadContext context, List<FieldError> errors)
    {
        errors.Clear();
        string? requestId = null, userId = null, model = null, action = null, provider = null, sessionId = null, agentId = null;
        string? channel = null, status = null, errorType = null, severity = null, feedback = null, metadata = null;
        int? tokensIn = null, tokensOut = null, cacheRead = null, cacheWrite = null;
        double? latency = null, ttft = null;
        decimal? reportedCost = null;
        DateTimeOffset? ts = null;

        foreach (var property in element.EnumerateObject())
        {
            var value = property.Value;
            if (value.ValueKind == JsonValueKind.Null)
            {
                continue; // null means "not given" for every field
            }

            // Dispatch on the raw name's length first: a chain of 21 name comparisons per property was the
            // Api's hottest spot at 100k events/s. An escaped name (rare) is compared unescaped.
            var name = JsonMarshal.GetRawUtf8PropertyName(property);
            if (name.Contains((byte)'\\'))
            {
                name = System.Text.Encoding.UTF8.GetBytes(property.Name);
            }

            switch (name.Length)
            {
                case 2 when name.SequenceEqual("ts"u8): ts = Timestamp(value, errors); break;
                case 5 when name.SequenceEqual("model"u8): model = Text(value, "model", MaxNameLength, errors); break;
                case 6 when name.SequenceEqual("action"u8): action = Text(value, "action", MaxNameLength, errors); break;
                case 6 when name.SequenceEqual("status"u8): status = OneOf(value, "status", Statuses, errors); break;
                case 7 when name.SequenceEqual("user_id"u8): userId = Text(value, "user_id", MaxIdLength, errors); break;
                case 7 when name.SequenceEqual("channel"u8): channel = Text(value, "channel", MaxNameLength, errors)?.ToLowerInvariant(); break;
                case 7 when name.SequenceEqual("ttft_ms"u8): ttft = Milliseconds(value, "ttft_ms", errors); break;
                case 8 when name.SequenceEqual("provider"u8): provider = Text(value, "provider", MaxNameLength, errors)?.ToLowerInvariant(); break;
                case 8 when name.SequenceEqual("agent_id"u8): agentId = Text(value, "agent_id", MaxIdLength, errors); break;
                case 8 when name.SequenceEqual("severity"u8): severity = OneOf(value, "severity", Severities.All, errors); break;
                case 8 when name.SequenceEqual("cost_usd"u8): reportedCost = Money(value, errors); break;
                case 8 when name.SequenceEqual("feedback"u8): feedback = OneOf(value, "feedback", Ratings.All, errors); break;
                case 8 when name.SequenceEqual("metadata"u8): metadata = Metadata(value, context, errors); break;
                case 9 when name.SequenceEqual("tokens_in"u8): tokensIn = Count(value, "tokens_in", errors); break;
                case 10 when name.SequenceEqual("request_id"u8): requestId = Text(value, "request_id", MaxIdLength, errors); break;
                case 10 when name.SequenceEqual("tokens_out"u8): tokensOut = Count(value, "tokens_out", errors); break;
                case 10 when name.SequenceEqual("session_id"u8): sessionId = Text(value, "session_id", MaxIdLength, errors); break;
                case 10 when name.SequenceEqual("latency_ms"u8): latency = Milliseconds(value, "latency_ms", errors); break;
                case 10 when name.SequenceEqual("error_type"u8): errorType = Text(value, "error_type", MaxNameLength, errors); break;
                case 17 when name.SequenceEqual("cache_read_tokens"u8): cacheRead = Count(value, "cache_read_tokens", errors); break;
                case 18 when name.SequenceEqual("cache_write_tokens"u8): cacheWrite = Count(value, "cache_write_tokens", errors); break;
                default: break; // unknown fields are ignored
            }
        }

        Require(requestId, "request_id", errors);
        Require(userId, "user_id", errors);
        Require(model, "model", errors);
        Require(tokensIn, "tokens_in", errors);
        Require(tokensOut, "tokens_out", errors);

        var receivedAt = context.ReceivedAt;
        if (ts is { } at && at > receivedAt + context.MaxFutureSkew)
        {
            errors.Add(new FieldError("ts", $"is more than {context.MaxFutureSkew.TotalSeconds:0} seconds in the future (received at {receivedAt:O})."));
        }

        if (tokensIn is { } tin)
        {
            if (cacheRead > tin)
            {
                errors.Add(new FieldError("cache_read_tokens", "must not exceed tokens_in (cache tokens are part of the input)."));
            }
            else if ((long)(cacheRead ?? 0) + (cacheWrite ?? 0) > tin)
            {
                errors.Add(new FieldError("cache_write_tokens", "cache_read_tokens + cache_write_tokens must not exceed tokens_in."));
            }
        }

        if (ttft is { } first && latency is { } total && first > total)
        {
            errors.Add(new FieldError("ttft_ms", "must not exceed latency_ms (the first token comes before the last)."));
        }

        if (errors.Count > 0)
        {
            return null;
        }

        return new UsageEvent
        {
            Index = index,
            RequestId = requestId!,
            UserId = userId!,
            Model = model!,
            TokensIn = tokensIn!.Value,
            TokensOut = tokensOut!.Value,
            Timestamp = TruncateToMicroseconds(ts ?? receivedAt),
            Action = action ?? DefaultAction,
            ReportedProvider = provider,
            SessionId = sessionId,
            AgentId = agentId,
            Channel = channel,
            CacheReadTokens = cacheRead ?? 0,
            CacheWriteTokens = cacheWrite ?? 0,
            LatencyMs = latency is { } l ? (int)Math.Round(l, MidpointRounding.AwayFromZero) : null,
            TtftMs = ttft is { } t ? (int)Math.Round(t, MidpointRounding.AwayFromZero) : null,
            // Without an explicit status, an event that names an error type is an error.
            IsError = status is null ? errorType is not null : status == "error",
            ErrorType = errorType,
            Severity = severity,
            ReportedCostUsd = reportedCost,
            Feedback = feedback,
            MetadataJson = metadata,
        };
    }

    /// <summary>Postgres keeps microseconds; truncating here keeps what we bucket and what we store identical.</summary>
    public static DateTimeOffset TruncateToMicroseconds(DateTimeOffset value) =>
        new(value.UtcTicks - (value.UtcTicks % TimeSpan.TicksPerMicrosecond), TimeSpan.Zero);

    private static void Require<T>(T? value, string name, List<FieldError> errors)
    {
        if (value is null && !errors.Exists(e => e.Name == name))
        {
            errors.Add(new FieldError(name, "is required."));
        }
    }

    private static string? Text(JsonElement value, string name, int maxLength, List<FieldError> errors)
    {
        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add(new FieldError(name, "must be a string."));
            return null;
        }

        var text = value.GetString()!;
        if (string.IsNullOrWhiteSpace(text))
        {
            errors.Add(new FieldError(name, "must not be empty."));
            return null;
        }

        if (text.Length > maxLength)
        {
            errors.Add(new FieldError(name, $"must be at most {maxLength} characters."));
            return null;
        }

        if (text.Contains('\0', StringComparison.Ordinal))
        {
            errors.Add(new FieldError(name, "must not contain NUL characters."));
            return null;
        }

        return text;
    }

    private static string? OneOf(JsonElement value, string name, string[] allowed, List<FieldError> errors)
    {
        if (value.ValueKind == JsonValueKind.String)
        {
            foreach (var candidate in allowed)
            {
                if (value.ValueEquals(candidate))
                {
                    return candidate;
                }
            }
        }

        errors.Add(new FieldError(name, $"must be one of: {string.Join(", ", allowed)}."));
        return null;
    }

    private static int? Count(JsonElement value, string name, List<FieldError> errors)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var count) && count >= 0)
        {
            return count;
        }

        errors.Add(new FieldError(name, $"must be an integer between 0 and {int.MaxValue}."));
        return null;
    }

    private static double? Milliseconds(JsonElement value, string name, List<FieldError> errors)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var ms) && ms >= 0 && ms <= int.MaxValue)
        {
            return ms;
        }

        errors.Add(new FieldError(name, "must be a number of milliseconds ≥ 0."));
        return null;
    }

    private static decimal? Money(JsonElement value, List<FieldError> errors)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetDecimal(out var usd) && usd >= 0 && usd < 1_000_000_000_000m)
        {
            return Math.Round(usd, 12, MidpointRounding.ToEven);
        }

        errors.Add(new FieldError("cost_usd", "must be a number of USD ≥ 0."));
        return null;
    }

    private static DateTimeOffset? Timestamp(JsonElement value, List<FieldError> errors)
    {
        if (value.ValueKind == JsonValueKind.String && value.TryGetDateTimeOffset(out var at) && HasZone(value.GetString()!))
        {
            return at.ToUniversalTime();
        }

        errors.Add(new FieldError("ts", "must be an RFC 3339 timestamp with a zone, e.g. 2026-05-18T14:23:11Z."));
        return null;
    }

    /// <summary>Without a zone a timestamp would be read in the server's zone; RFC 3339 requires one.</summary>
    private static bool HasZone(string text)
    {
        if (text.EndsWith('Z') || text.EndsWith('z'))
        {
            return true;
        }

        var sign = text.Length - 6;
        return sign > 10 && text[sign] is '+' or '-' && text[sign + 3] == ':';
    }

    private static string? Metadata(JsonElement value, in EventReadContext context, List<FieldError> errors)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new FieldError("metadata", "must be a JSON object."));
            return null;
        }

        var size = JsonMarshal.GetRawUtf8Value(value).Length;
        if (size > context.MaxMetadataBytes)
        {
            errors.Add(new FieldError("metadata", string.Create(CultureInfo.InvariantCulture, $"is {size} bytes; at most {context.MaxMetadataBytes} are accepted."), IsOverCap: true));
            return null;
        }

        var redacted = context.Redactor.Redact(JsonObject.Create(value), context.TenantId);
        var json = redacted?.ToJsonString(CompactJson) ?? "{}";
        if (json.Contains("\\u0000", StringComparison.Ordinal))
        {
            // Postgres jsonb cannot hold NUL characters.
            errors.Add(new FieldError("metadata", "must not contain NUL characters."));
            return null;
        }

        return json;
    }
}
