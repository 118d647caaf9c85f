using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using Ops.Modules.Shared.Security;

namespace Ops.Api.Identity.ApiKeys;

/// <summary>
/// Authenticates <c>Authorization: Bearer &lt;key&gt;</c> or <c>X-Api-Key: &lt;key&gt;</c>. Both failures answer
/// with problem details: 401 when the key is missing or not valid, 403 when it lacks the endpoint's role.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    ApiKeyStore store,
    KeyUsageRecorder usage,
    TimeProvider time,
    IProblemDetailsService problems) : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string ApiKeyHeader = "X-Api-Key";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? presented;
        var authorization = Request.Headers.Authorization.ToString();
        if (!string.IsNullOrEmpty(authorization))
        {
            const string bearer = "Bearer ";
            if (!authorization.StartsWith(bearer, StringComparison.OrdinalIgnoreCase) || authorization.Length == bearer.Length)
            {
                return AuthenticateResult.Fail("The Authorization header must be 'Bearer <api key>'.");
            }

            presented = authorization[bearer.Length..].Trim();
        }
        else
        {
            presented = Request.Headers[ApiKeyHeader].ToString().Trim();
            if (presented.Length == 0)
            {
                return AuthenticateResult.NoResult();
            }
        }

        if (!ApiKeyFormat.TryParse(presented, out var prefix))
        {
            return AuthenticateResult.Fail("The API key is malformed.");
        }

        var key = await store.FindByPrefixAsync(prefix, Context.RequestAborted);
        if (key is null || !ApiKeyFormat.Matches(presented, key.SecretHash))
        {
            return AuthenticateResult.Fail("The API key is not valid.");
        }

        if (key.RevokedAt is not null)
        {
            return AuthenticateResult.Fail("The API key was revoked.");
        }

        if (key.ExpiresAt is { } expiresAt && expiresAt <= time.GetUtcNow())
        {
            return AuthenticateResult.Fail("The API key has expired.");
        }

        usage.Record(key.TenantId, key.KeyId);
        var claims = new List<Claim>
        {
            new(OpsClaims.TenantId, key.TenantId),
            new(OpsClaims.KeyId, key.KeyId.ToString()),
            new(OpsClaims.KeyName, key.Name),
            new(ClaimTypes.Name, key.Name),
        };
        foreach (var role in EffectiveRoles(key))
        {
            claims.Add(new Claim(ClaimTypes.Role, role));
        }

        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName, ClaimTypes.Name, ClaimTypes.Role));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }

    /// <summary>admin implies read; a platform admin key also carries the platform role.</summary>
    internal static IEnumerable<string> EffectiveRoles(StoredApiKey key)
    {
        var roles = new HashSet<string>(key.Roles, StringComparer.Ordinal);
        if (roles.Contains(Roles.Admin))
        {
            roles.Add(Roles.Read);
        }

        if (key.IsPlatformAdmin)
        {
            roles.Add(Roles.Platform);
        }

        return roles;
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        var detail = result.Failure?.Message
            ?? $"An API key is required: send 'Authorization: Bearer <api key>' or '{ApiKeyHeader}: <api key>'.";
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        await WriteProblemAsync(StatusCodes.Status401Unauthorized, "Unauthorized", detail);
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        var required = Context.GetEndpoint()?.Metadata.GetOrderedMetadata<IAuthorizeData>()
            .SelectMany(a => (a.Roles ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Distinct()
            .ToList() ?? [];
        var detail = required.Count > 0
            ? $"This API key lacks the role this endpoint requires (one of: {string.Join(", ", required)})."
            : "This API key may not perform this action.";
        Response.StatusCode = StatusCodes.Status403Forbidden;
        await WriteProblemAsync(StatusCodes.Status403Forbidden, "Forbidden", detail);
    }

    private async Task WriteProblemAsync(int status, string title, string detail)
    {
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        });
    }
}
