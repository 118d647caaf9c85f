namespace Ops.Api.Hosting.OpenApi;

internal static class OpenApiNames
{
    /// <summary>The bearer API-key scheme every protected operation references.</summary>
    public const string SecurityScheme = "ApiKey";
}
