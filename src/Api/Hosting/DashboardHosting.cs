using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;

namespace Ops.Api.Hosting;

/// <summary>
/// Serves the built dashboard (Dashboard/dist) at /: fingerprinted assets cached for a year, the page itself never.
/// Assets are served from their build-time .br/.gz siblings when the browser accepts that encoding.
/// </summary>
internal static class DashboardHosting
{
    private const string ContentSecurityPolicy =
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

    public static WebApplication UseDashboard(this WebApplication app)
    {
        var root = Path.Combine(app.Environment.ContentRootPath, "Dashboard", "dist");
        if (!Directory.Exists(root))
        {
            root = Path.Combine(AppContext.BaseDirectory, "Dashboard", "dist");
        }

        if (!Directory.Exists(root))
        {
            app.Logger.LogWarning("The dashboard was not built (no Dashboard/dist); only the API is served.");
            return app;
        }

        var files = new PhysicalFileProvider(root);
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.Use((context, next) =>
        {
            ServePrecompressed(context, files);
            return next(context);
        });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            ContentTypeProvider = new PrecompressedContentTypes(),
            OnPrepareResponse = context =>
            {
                var headers = context.Context.Response.Headers;
                headers.XContentTypeOptions = "nosniff";
                headers["Referrer-Policy"] = "no-referrer";
                if (context.File.Name.EndsWith(".html", StringComparison.Ordinal))
                {
                    headers.CacheControl = "no-cache";
                    headers.ContentSecurityPolicy = ContentSecurityPolicy;
                    headers.XFrameOptions = "DENY";
                }
                else
                {
                    headers.CacheControl = "public, max-age=31536000, immutable";
                }
            },
        });
        return app;
    }

    private static readonly (string Encoding, string Extension)[] Encodings = [("br", ".br"), ("gzip", ".gz")];

    /// <summary>Points a request for /assets/x.js at x.js.br (or .gz) when the client accepts it and the file exists.</summary>
    private static void ServePrecompressed(HttpContext context, PhysicalFileProvider files)
    {
        var path = context.Request.Path.Value;
        if (path is null || !path.StartsWith("/assets/", StringComparison.Ordinal) || !(HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method)))
        {
            return;
        }

        var accepted = context.Request.GetTypedHeaders().AcceptEncoding;
        foreach (var (encoding, extension) in Encodings)
        {
            var accepts = accepted.Any(e => string.Equals(e.Value.Value, encoding, StringComparison.OrdinalIgnoreCase) && e.Quality is not 0);
            if (accepts && files.GetFileInfo(path + extension).Exists)
            {
                context.Request.Path = path + extension;
                context.Response.Headers.ContentEncoding = encoding;
                context.Response.Headers.Vary = "Accept-Encoding";
                return;
            }
        }
    }

    /// <summary>The content type of x.js.br is the one of x.js.</summary>
    private sealed class PrecompressedContentTypes : IContentTypeProvider
    {
        private readonly FileExtensionContentTypeProvider _inner = new();

        public bool TryGetContentType(string subpath, out string contentType)
        {
            foreach (var (_, extension) in Encodings)
            {
                if (subpath.EndsWith(extension, StringComparison.Ordinal))
                {
                    subpath = subpath[..^extension.Length];
                    break;
                }
            }

            return _inner.TryGetContentType(subpath, out contentType!);
        }
    }
}
