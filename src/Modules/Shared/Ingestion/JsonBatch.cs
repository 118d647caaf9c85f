using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Ops.Modules.Shared.Http;

namespace Ops.Modules.Shared.Ingestion;

/// <summary>Caps for one bulk request; modules bind them from their options so they are configurable and documented.</summary>
public sealed record BatchLimits(long MaxBytes, int MaxItems);

/// <summary>One element of a batch: the JSON object (valid JSON, not yet validated as an event) or why its line could not be parsed.</summary>
public readonly record struct BatchItem(int Index, JsonElement Element, string? ParseError)
{
    public bool IsParsed => ParseError is null;
}

/// <summary>
/// A parsed bulk body: the JSON document(s) stay alive until disposal, so items are views into the request
/// bytes rather than copies. The bytes live in a buffer rented from the shared pool (bulk bodies are hundreds of
/// KB: a fresh array per request would land on the large object heap and keep the process's memory high), given
/// back on disposal.
/// </summary>
public sealed class JsonBatch : IDisposable
{
    private readonly List<JsonDocument> _documents;
    private byte[]? _buffer;

    private JsonBatch(List<JsonDocument> documents, List<BatchItem> items)
    {
        _documents = documents;
        Items = items;
    }

    public IReadOnlyList<BatchItem> Items { get; }

    public void Dispose()
    {
        foreach (var document in _documents)
        {
            document.Dispose();
        }

        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }
    }

    /// <summary>
    /// Reads one object, a JSON array of objects, or NDJSON (<c>application/x-ndjson</c>, one object per line).
    /// Returns the problem to answer with instead when the body is over a cap (413), empty or not JSON at all (400).
    /// A single NDJSON line that is not JSON is reported at its index; the other lines still count.
    /// </summary>
    public static async Task<(JsonBatch? Batch, IResult? Problem)> ReadAsync(HttpRequest request, BatchLimits limits, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limits.MaxBytes)
        {
            return (null, TooLarge(limits));
        }

        var sizeFeature = request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false })
        {
            // Raise (or lower) the host-wide limit to this endpoint's own cap; we enforce it while reading.
            sizeFeature.MaxRequestBodySize = null;
        }

        // One byte more than announced, so the read that sees the end needs no bigger buffer.
        var buffer = ArrayPool<byte>.Shared.Rent(request.ContentLength is > 0 and < int.MaxValue ? (int)request.ContentLength.Value + 1 : 64 * 1024);
        var written = 0;
        try
        {
            while (true)
            {
                if (written == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, written).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var read = await request.Body.ReadAsync(buffer.AsMemory(written), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                written += read;
                if (written > limits.MaxBytes)
                {
                    return Fail(TooLarge(limits));
                }
            }

            var body = buffer.AsMemory(0, written);
            if (written == 0 || body.Span.Trim(" \t\r\n"u8).IsEmpty)
            {
                return Fail(Problems.BadRequest("The request body is empty: send one event object, a JSON array of events, or NDJSON.", "body"));
            }

            var isNdjson = request.ContentType?.StartsWith("application/x-ndjson", StringComparison.OrdinalIgnoreCase) == true
                           || request.ContentType?.StartsWith("application/jsonl", StringComparison.OrdinalIgnoreCase) == true;
            var (batch, problem) = isNdjson ? ReadLines(body, limits) : ReadDocument(body, limits);
            if (batch is null)
            {
                return Fail(problem);
            }

            batch._buffer = buffer;
            return (batch, null);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }

        (JsonBatch?, IResult?) Fail(IResult? problem)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return (null, problem);
        }
    }

    private static (JsonBatch?, IResult?) ReadDocument(ReadOnlyMemory<byte> body, BatchLimits limits)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException ex)
        {
            return (null, Problems.BadRequest($"The body is not valid JSON ({ex.Message}). For one event per line use Content-Type: application/x-ndjson.", "body"));
        }

        var items = new List<BatchItem>();
        switch (document.RootElement.ValueKind)
        {
            case JsonValueKind.Object:
                items.Add(new BatchItem(0, document.RootElement, null));
                break;
            case JsonValueKind.Array:
                if (document.RootElement.GetArrayLength() > limits.MaxItems)
                {
                    document.Dispose();
                    return (null, TooMany(limits));
                }

                var index = 0;
                foreach (var element in document.RootElement.EnumerateArray())
                {
                    items.Add(element.ValueKind == JsonValueKind.Object
                        ? new BatchItem(index, element, null)
                        : new BatchItem(index, default, "must be a JSON object."));
                    index++;
                }

                break;
            default:
                document.Dispose();
                return (null, Problems.BadRequest("The body must be a JSON object or an array of objects.", "body"));
        }

        return (new JsonBatch([document], items), null);
    }

    private static (JsonBatch?, IResult?) ReadLines(ReadOnlyMemory<byte> body, BatchLimits limits)
    {
        var documents = new List<JsonDocument>();
        var items = new List<BatchItem>();
        var remaining = body;
        var index = 0;
        while (!remaining.IsEmpty)
        {
            var newline = remaining.Span.IndexOf((byte)'\n');
            var line = newline < 0 ? remaining : remaining[..newline];
            remaining = newline < 0 ? ReadOnlyMemory<byte>.Empty : remaining[(newline + 1)..];
            if (line.Span.Trim(" \t\r"u8).IsEmpty)
            {
                continue; // blank lines (a trailing newline, say) are not events
            }

            if (items.Count >= limits.MaxItems)
            {
                foreach (var parsed in documents)
                {
                    parsed.Dispose();
                }

                return (null, TooMany(limits));
            }

            try
            {
                var document = JsonDocument.Parse(line, new JsonDocumentOptions { MaxDepth = 64 });
                documents.Add(document);
                items.Add(document.RootElement.ValueKind == JsonValueKind.Object
                    ? new BatchItem(index, document.RootElement, null)
                    : new BatchItem(index, default, "must be a JSON object."));
            }
            catch (JsonException ex)
            {
                items.Add(new BatchItem(index, default, $"is not valid JSON ({ex.Message})."));
            }

            index++;
        }

        if (items.Count == 0)
        {
            return (null, Problems.BadRequest("The NDJSON body has no lines.", "body"));
        }

        return (new JsonBatch(documents, items), null);
    }

    private static IResult TooLarge(BatchLimits limits) =>
        Problems.TooLarge($"The request body is larger than {limits.MaxBytes} bytes; split it into smaller batches.", "body");

    private static IResult TooMany(BatchLimits limits) =>
        Problems.TooLarge($"A request may carry at most {limits.MaxItems} events; split it into smaller batches.", "body");
}
