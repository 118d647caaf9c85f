using System.Security.Claims;
using Microsoft.AspNetCore.Http;

namespace Ops.Modules.Shared.Security;

/// <summary>
/// Who is calling: the API key's id and name, its tenant and its roles. The tenant always comes from here,
/// never from a request body.
/// </summary>
public sealed record Caller(string TenantId, Guid KeyId, string KeyName, IReadOnlySet<string> Roles)
{
    public bool IsPlatformAdmin => Roles.Contains(Security.Roles.Platform);

    public bool IsInRole(string role) => Roles.Contains(role);

    /// <summary>How operator actions name their author in audit records and flag history.</summary>
    public string Actor => $"key:{KeyName} ({KeyId})";

    public static Caller FromPrincipal(ClaimsPrincipal principal)
    {
        var tenant = principal.FindFirstValue(OpsClaims.TenantId);
        var keyId = principal.FindFirstValue(OpsClaims.KeyId);
        if (tenant is null || keyId is null)
        {
            throw new InvalidOperationException("The request is not authenticated with an API key.");
        }

        return new Caller(
            tenant,
            Guid.Parse(keyId),
            principal.FindFirstValue(OpsClaims.KeyName) ?? string.Empty,
            principal.FindAll(ClaimTypes.Role).Select(c => c.Value).ToHashSet(StringComparer.Ordinal));
    }
}

public static class CallerExtensions
{
    /// <summary>The authenticated caller of this request.</summary>
    public static Caller GetCaller(this HttpContext context) =>
        context.Features.Get<Caller>() ?? SetCaller(context);

    private static Caller SetCaller(HttpContext context)
    {
        var caller = Caller.FromPrincipal(context.User);
        context.Features.Set(caller);
        return caller;
    }
}
