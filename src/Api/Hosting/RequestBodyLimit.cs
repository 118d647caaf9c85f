using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Ops.Api.Hosting;

/// <summary>
/// Kestrel enforces <see cref="HostingOptions.MaxRequestBodyBytes"/> through <see cref="IHttpMaxRequestBodySizeFeature"/>.
/// Servers without that feature (the in-memory test server) get the same behaviour here, so bulk endpoints can raise
/// the limit the same way everywhere and the tests see what production sees.
/// </summary>
internal static class RequestBodyLimit
{
    public static WebApplication UseRequestBodyLimit(this WebApplication app)
    {
        var limit = app.Services.GetRequiredService<IOptions<HostingOptions>>().Value.MaxRequestBodyBytes;
        app.Use((context, next) =>
        {
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is null)
            {
                var feature = new BodySizeFeature { MaxRequestBodySize = limit };
                context.Features.Set<IHttpMaxRequestBodySizeFeature>(feature);
                context.Request.Body = new LimitedStream(context.Request.Body, feature, context.Request.ContentLength);
            }

            return next(context);
        });
        return app;
    }

    private sealed class BodySizeFeature : IHttpMaxRequestBodySizeFeature
    {
        public bool IsReadOnly { get; set; }

        public long? MaxRequestBodySize { get; set; }
    }

    private sealed class LimitedStream(Stream inner, BodySizeFeature feature, long? contentLength) : Stream
    {
        private long _read;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            CheckBeforeRead();
            return Count(await inner.ReadAsync(buffer, cancellationToken));
        }

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            await ReadAsync(buffer.AsMemory(offset, count), cancellationToken);

        private void CheckBeforeRead()
        {
            // Like Kestrel: once reading starts the limit is fixed, and a declared length over it fails at once.
            feature.IsReadOnly = true;
            if (feature.MaxRequestBodySize is { } max && contentLength > max)
            {
                throw TooLarge();
            }
        }

        private int Count(int read)
        {
            _read += read;
            if (feature.MaxRequestBodySize is { } max && _read > max)
            {
                throw TooLarge();
            }

            return read;
        }

        private static BadHttpRequestException TooLarge() => new("Request body too large.", StatusCodes.Status413PayloadTooLarge);

        public override void Flush() => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
