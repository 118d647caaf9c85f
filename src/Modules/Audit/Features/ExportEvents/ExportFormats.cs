using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ops.Modules.Audit.Reading;
using Ops.Modules.Shared.Export;
using Ops.Modules.Shared.Json;

namespace Ops.Modules.Audit.Features.ExportEvents;

/// <summary>Writes exported events into a reusable buffer; the endpoint copies the buffer to the response as it fills.</summary>
internal interface IExportFormat
{
    string ContentType { get; }

    string Extension { get; }

    void WriteHeader(ArrayBufferWriter<byte> output);

    void Write(AuditEventRow row, ArrayBufferWriter<byte> output);
}

/// <summary>One JSON object per line: the seed's audit log format, ready for jq.</summary>
internal sealed class NdjsonFormat : IExportFormat
{
    private Utf8JsonWriter? _writer;

    public string ContentType => "application/x-ndjson; charset=utf-8";

    public string Extension => "ndjson";

    public void WriteHeader(ArrayBufferWriter<byte> output)
    {
    }

    public void Write(AuditEventRow row, ArrayBufferWriter<byte> output)
    {
        if (_writer is null)
        {
            _writer = new Utf8JsonWriter(output, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        }
        else
        {
            _writer.Reset(output);
        }

        JsonSerializer.Serialize(_writer, row.ToView(), OpsJson.Options);
        _writer.Flush();
        output.Write("\n"u8);
    }
}

/// <summary>
/// CSV (RFC 4180) with the seed's fields as columns and the remaining details as one JSON column. Text cells
/// that a spreadsheet would run as a formula (starting with = + - @, tab or carriage return) are prefixed with
/// an apostrophe, so opening an export can never execute what an agent once logged.
/// </summary>
internal sealed class CsvFormat : IExportFormat
{
    private static readonly string[] DetailColumns = ["model", "tokens_in", "tokens_out", "cost_usd", "latency_ms"];
    private readonly StringBuilder _line = new(512);

    public string ContentType => "text/csv; charset=utf-8";

    public string Extension => "csv";

    public void WriteHeader(ArrayBufferWriter<byte> output) =>
        Append(output, "ts,action,user_id,request_id,status,actor," + string.Join(',', DetailColumns) + ",details\r\n");

    public void Write(AuditEventRow row, ArrayBufferWriter<byte> output)
    {
        var details = JsonNode.Parse(row.Details) as JsonObject ?? [];
        _line.Clear();
        _line.Append(row.Key.Ts.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", System.Globalization.CultureInfo.InvariantCulture));
        AppendText(row.Action);
        AppendText(row.UserId);
        AppendText(row.RequestId);
        AppendText(row.Status);
        AppendText(row.Actor);
        foreach (var column in DetailColumns)
        {
            _line.Append(',');
            if (details.Remove(column, out var value) && value is not null)
            {
                if (value.GetValueKind() == JsonValueKind.Number)
                {
                    _line.Append(value.ToJsonString());
                }
                else
                {
                    AppendCell(value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString(OpsJson.Options));
                }
            }
        }

        AppendText(details.Count == 0 ? null : details.ToJsonString(OpsJson.Options));
        _line.Append("\r\n");
        Append(output, _line.ToString());
    }

    private void AppendText(string? value)
    {
        _line.Append(',');
        if (value is not null)
        {
            AppendCell(value);
        }
    }

    private void AppendCell(string value) => _line.Append(CsvCell.Escape(value));

    private static void Append(ArrayBufferWriter<byte> output, string text)
    {
        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        output.Advance(Encoding.UTF8.GetBytes(text, span));
    }
}
