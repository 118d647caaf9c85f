using System.ComponentModel.DataAnnotations;

namespace Ops.Api.Hosting;

/// <summary>Bound to "Ops:Http".</summary>
internal sealed class HostingOptions
{
    public const string Section = "Ops:Http";

    /// <summary>
    /// Body size limit for every request; endpoints that take bulk uploads (ingestion) raise it to their own
    /// documented cap. Larger bodies get 413 problem details.
    /// </summary>
    [Range(1024, 1L << 30)]
    public long MaxRequestBodyBytes { get; set; } = 1L << 20;
}
