using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;

namespace Ops.Api.Hosting;

/// <summary>Serves the built dashboard (Dashboard/dist) at /: fingerprinted assets cached for a year, the page itself never.</summary>
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
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            ContentTypeProvider = new FileExtensionContentTypeProvider(),
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
}
