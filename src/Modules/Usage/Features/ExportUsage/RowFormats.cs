using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Data.Common;
using Ops.Modules.Shared.Export;
using Ops.Modules.Usage.Reading;

namespace Ops.Modules.Usage.Features.ExportUsage;

/// <summary>Writes the rows of a query, as they are read, into a reusable buffer the endpoint copies to the response.</summary>
internal abstract class RowFormat
{
    public abstract string ContentType { get; }

    public abstract string Extension { get; }

    public static RowFormat For(string format) => format switch
    {
        "json" => new JsonRowFormat(arrayOfRows: true),
        "ndjson" => new JsonRowFormat(arrayOfRows: false),
        _ => new CsvRowFormat(),
    };

    public abstract void Begin(IReadOnlyList<string> columns, ArrayBufferWriter<byte> output);

    public abstract void Row(DbDataReader reader, ArrayBufferWriter<byte> output);

    public abstract void End(ArrayBufferWriter<byte> output);

    /// <summary>A cell's value: null, string, long, decimal (trailing zeros dropped), bool, or a UTC instant.</summary>
    protected static object? Value(DbDataReader reader, int i) => reader.IsDBNull(i) ? null : reader.GetValue(i) switch
    {
        decimal d => Money.Normalize(d),
        int n => (long)n,
        short n => (long)n,
        DateTime t => DateTime.SpecifyKind(t, DateTimeKind.Utc),
        var v => v,
    };

    protected static string Instant(DateTime t) => t.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);
}

/// <summary>JSON: an array of objects (<c>json</c>) or one object per line (<c>ndjson</c>).</summary>
internal sealed class JsonRowFormat(bool arrayOfRows) : RowFormat
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private JsonEncodedText[] _names = [];
    private Utf8JsonWriter? _writer;
    private bool _first = true;

    public override string ContentType => arrayOfRows ? "application/json; charset=utf-8" : "application/x-ndjson; charset=utf-8";

    public override string Extension => arrayOfRows ? "json" : "ndjson";

    public override void Begin(IReadOnlyList<string> columns, ArrayBufferWriter<byte> output)
    {
        _names = columns.Select(c => JsonEncodedText.Encode(c)).ToArray();
        if (arrayOfRows)
        {
            output.Write("["u8);
        }
    }

    public override void Row(DbDataReader reader, ArrayBufferWriter<byte> output)
    {
        if (arrayOfRows && !_first)
        {
            output.Write(","u8);
        }

        _first = false;
        if (_writer is null)
        {
            _writer = new Utf8JsonWriter(output, Options);
        }
        else
        {
            _writer.Reset(output);
        }

        _writer.WriteStartObject();
        for (var i = 0; i < _names.Length; i++)
        {
            switch (Value(reader, i))
            {
                case null: _writer.WriteNull(_names[i]); break;
                case string s: _writer.WriteString(_names[i], s); break;
                case long n: _writer.WriteNumber(_names[i], n); break;
                case decimal d: _writer.WriteNumber(_names[i], d); break;
                case bool b: _writer.WriteBoolean(_names[i], b); break;
                case DateTime t: _writer.WriteString(_names[i], Instant(t)); break;
                case var other: _writer.WriteString(_names[i], Convert.ToString(other, CultureInfo.InvariantCulture)); break;
            }
        }

        _writer.WriteEndObject();
        _writer.Flush();
        if (!arrayOfRows)
        {
            output.Write("\n"u8);
        }
    }

    public override void End(ArrayBufferWriter<byte> output)
    {
        if (arrayOfRows)
        {
            output.Write("]\n"u8);
        }
    }
}

/// <summary>CSV (RFC 4180) with a header row; text cells neutralised against formula injection (<see cref="CsvCell"/>).</summary>
internal sealed class CsvRowFormat : RowFormat
{
    private readonly StringBuilder _line = new(512);
    private int _columns;

    public override string ContentType => "text/csv; charset=utf-8";

    public override string Extension => "csv";

    public override void Begin(IReadOnlyList<string> columns, ArrayBufferWriter<byte> output)
    {
        _columns = columns.Count;
        Append(output, string.Join(',', columns) + "\r\n");
    }

    public override void Row(DbDataReader reader, ArrayBufferWriter<byte> output)
    {
        _line.Clear();
        for (var i = 0; i < _columns; i++)
        {
            if (i > 0)
            {
                _line.Append(',');
            }

            _line.Append(Value(reader, i) switch
            {
                null => string.Empty,
                string s => CsvCell.Escape(s),
                bool b => b ? "true" : "false",
                DateTime t => Instant(t),
                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                var other => CsvCell.Escape(other.ToString() ?? string.Empty),
            });
        }

        _line.Append("\r\n");
        Append(output, _line.ToString());
    }

    public override void End(ArrayBufferWriter<byte> output)
    {
    }

    private static void Append(ArrayBufferWriter<byte> output, string text)
    {
        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        output.Advance(Encoding.UTF8.GetBytes(text, span));
    }
}
