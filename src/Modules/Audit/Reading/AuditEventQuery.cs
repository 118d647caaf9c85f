using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Npgsql;

namespace Ops.Modules.Audit.Reading;

/// <summary>
/// One stored event as the API shows it: the seed's JSON line. The typed columns first, then every detail
/// (tokens, cost, model, an operator action's target/before/after, any extra field) at the top level.
/// </summary>
internal sealed class AuditEventView
{
    public required DateTime Ts { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? UserId { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? RequestId { get; init; }

    public required string Action { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Status { get; init; }

    /// <summary>Who did it, for operator actions (<c>key:&lt;name&gt; (&lt;id&gt;)</c>) and jobs (<c>system:&lt;job&gt;</c>).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Actor { get; init; }

    /// <summary>Every other field, written at the top level.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Details { get; init; }
}

/// <summary>The position of an event in (ts, event_id) order: what keyset pagination continues from.</summary>
internal readonly record struct EventKey(DateTime Ts, long EventId);

internal sealed class AuditEventRow
{
    public required EventKey Key { get; init; }
    public required string Action { get; init; }
    public string? UserId { get; init; }
    public string? RequestId { get; init; }
    public string? Status { get; init; }
    public string? Actor { get; init; }
    public required string Details { get; init; }

    public AuditEventView ToView() => new()
    {
        Ts = Key.Ts,
        UserId = UserId,
        RequestId = RequestId,
        Action = Action,
        Status = Status,
        Actor = Actor,
        Details = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(Details) is { Count: > 0 } details ? details : null,
    };
}

/// <summary>
/// A tenant's events under the shared filters, read in keyset order: (ts, event_id) descending for pages,
/// ascending for exports. Every value is a parameter; only fixed SQL fragments are combined.
/// </summary>
internal sealed class AuditEventQuery
{
    public required string TenantId { get; init; }

    /// <summary>Already clamped to the tenant's retention, so expired events are never served even before the purge runs.</summary>
    public required DateTimeOffset From { get; init; }

    public DateTimeOffset? To { get; init; }

    public string? Action { get; init; }

    public string? Status { get; init; }

    /// <summary>The values an identifier filter matches: as given (a clean id, or a pseudonym copied from a listing) and as it would have been stored.</summary>
    public IReadOnlyList<string>? UserIds { get; init; }

    public IReadOnlyList<string>? RequestIds { get; init; }

    /// <param name="asStored">How the writer stores an identifier column (personal data becomes a keyed pseudonym).</param>
    public static AuditEventQuery For(AuditEventFilter filter, string tenantId, DateTimeOffset retentionCutoff, Func<string, string, string?> asStored, DateTimeOffset? defaultTo = null) => new()
    {
        TenantId = tenantId,
        From = filter.From is { } from && from > retentionCutoff ? from : retentionCutoff,
        To = filter.To ?? defaultTo,
        Action = filter.Action,
        UserIds = Candidates("user_id", filter.UserId, asStored),
        RequestIds = Candidates("request_id", filter.RequestId, asStored),
        Status = filter.Status,
    };

    private static string[]? Candidates(string column, string? value, Func<string, string, string?> asStored) =>
        value is null ? null : new[] { value, asStored(column, value) ?? value }.Distinct(StringComparer.Ordinal).ToArray();

    /// <summary>Identifies the filters (not the retention clamp), so a cursor is only accepted with the filters it was made for.</summary>
    public static string Fingerprint(AuditEventFilter filter, string tenantId)
    {
        var text = string.Join('\u001f', tenantId, filter.From?.UtcTicks, filter.To?.UtcTicks, filter.Action, filter.UserId, filter.RequestId, filter.Status);
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)), 0, 8);
    }

    public async Task<List<AuditEventRow>> ReadAsync(NpgsqlConnection connection, bool newestFirst, EventKey? after, int limit, CancellationToken cancellationToken)
    {
        var sql = new StringBuilder(
            "SELECT ts, event_id, action, user_id, request_id, status, actor, details::text FROM audit.events WHERE tenant_id = @tenant AND ts >= @from");
        await using var command = new NpgsqlCommand { Connection = connection };
        command.Parameters.AddWithValue("tenant", TenantId);
        command.Parameters.AddWithValue("from", From.UtcDateTime);
        if (To is { } to)
        {
            sql.Append(" AND ts < @to");
            command.Parameters.AddWithValue("to", to.UtcDateTime);
        }

        if (Action is { } action)
        {
            if (action.EndsWith('*'))
            {
                sql.Append(@" AND action LIKE @action ESCAPE '\'");
                command.Parameters.AddWithValue("action", EscapeLike(action[..^1]) + "%");
            }
            else
            {
                sql.Append(" AND action = @action");
                command.Parameters.AddWithValue("action", action);
            }
        }

        AddAny(sql, command, "user_id", UserIds);
        AddAny(sql, command, "request_id", RequestIds);
        if (RequestIds is not null)
        {
            // No index on audit.events(request_id): every such event has its key row, with the same ts, in event_keys.
            sql.Append(" AND ts = ANY(ARRAY(SELECT k.ts FROM audit.event_keys k WHERE k.tenant_id = @tenant AND k.request_id = ANY(@request_id)))");
        }

        AddEquals(sql, command, "status", Status);
        if (after is { } key)
        {
            // The plain ts bound lets the planner prune partitions; the row comparison breaks ties on event_id.
            sql.Append(newestFirst
                ? " AND ts <= @after_ts AND (ts, event_id) < (@after_ts, @after_id)"
                : " AND ts >= @after_ts AND (ts, event_id) > (@after_ts, @after_id)");
            command.Parameters.AddWithValue("after_ts", key.Ts);
            command.Parameters.AddWithValue("after_id", key.EventId);
        }

        sql.Append(newestFirst ? " ORDER BY ts DESC, event_id DESC" : " ORDER BY ts, event_id");
        sql.Append(" LIMIT @limit");
        command.Parameters.AddWithValue("limit", limit);
        command.CommandText = sql.ToString();

        var rows = new List<AuditEventRow>(Math.Min(limit, 1024));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new AuditEventRow
            {
                Key = new EventKey(DateTime.SpecifyKind(reader.GetDateTime(0), DateTimeKind.Utc), reader.GetInt64(1)),
                Action = reader.GetString(2),
                UserId = reader.IsDBNull(3) ? null : reader.GetString(3),
                RequestId = reader.IsDBNull(4) ? null : reader.GetString(4),
                Status = reader.IsDBNull(5) ? null : reader.GetString(5),
                Actor = reader.IsDBNull(6) ? null : reader.GetString(6),
                Details = reader.GetString(7),
            });
        }

        return rows;
    }

    private static void AddEquals(StringBuilder sql, NpgsqlCommand command, string column, string? value)
    {
        if (value is null)
        {
            return;
        }

        sql.Append(" AND ").Append(column).Append(" = @").Append(column);
        command.Parameters.AddWithValue(column, value);
    }

    private static void AddAny(StringBuilder sql, NpgsqlCommand command, string column, IReadOnlyList<string>? values)
    {
        if (values is null)
        {
            return;
        }

        sql.Append(" AND ").Append(column).Append(" = ANY(@").Append(column).Append(')');
        command.Parameters.AddWithValue(column, values.ToArray());
    }

    private static string EscapeLike(string value) =>
        value.Replace(@"\", @"\\", StringComparison.Ordinal).Replace("%", @"\%", StringComparison.Ordinal).Replace("_", @"\_", StringComparison.Ordinal);
}

/// <summary>
/// The opaque cursor of <c>GET /v1/audit/events</c>: the last returned event's (ts, event_id) and a fingerprint
/// of the filters, base64url-encoded. Keyset pagination: each page continues strictly after that key, so events
/// inserted meanwhile never shift a page (no duplicates, no gaps among the events that already existed).
/// </summary>
internal static class PageCursor
{
    public static string Encode(EventKey key, string fingerprint) =>
        Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(new CursorData(key.Ts.Ticks, key.EventId, fingerprint)));

    public static bool TryDecode(string cursor, string fingerprint, out EventKey key, out string? error)
    {
        key = default;
        try
        {
            var data = JsonSerializer.Deserialize<CursorData>(Base64Url.DecodeFromChars(cursor));
            if (data is null || data.T <= 0 || data.T > DateTime.MaxValue.Ticks)
            {
                error = "is not a cursor returned by this endpoint.";
                return false;
            }

            if (data.F != fingerprint)
            {
                error = "belongs to a listing with other filters; repeat the filters the cursor was returned with.";
                return false;
            }

            key = new EventKey(new DateTime(data.T, DateTimeKind.Utc), data.I);
            error = null;
            return true;
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            error = "is not a cursor returned by this endpoint.";
            return false;
        }
    }

    private sealed record CursorData(long T, long I, string F);

}
