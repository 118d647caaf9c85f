using FastEndpoints;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Ops.Modules.KillSwitch.Contracts;

namespace Ops.Modules.KillSwitch.Enforcement;

/// <summary>
/// ASP.NET middleware: for endpoints carrying <see cref="EnforceKillSwitchAttribute"/>, rejects a killed caller
/// (and writes during read-only mode) before the endpoint runs. Place it after authentication and authorization.
/// </summary>
internal sealed class KillSwitchMiddleware(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context, KillSwitchGate gate)
    {
        var enforce = context.GetEndpoint()?.Metadata.GetMetadata<EnforceKillSwitchAttribute>();
        if (enforce is null || context.User.Identity?.IsAuthenticated != true || await gate.AdmitAsync(context, enforce.BlockWritesWhenReadOnly))
        {
            await next(context);
        }
    }
}

/// <summary>The same gate as a FastEndpoints pre-processor (<c>PreProcessor&lt;KillSwitchPreProcessor&lt;TRequest&gt;&gt;()</c>); a rejection short-circuits the handler.</summary>
internal sealed class KillSwitchPreProcessor<TRequest> : IPreProcessor<TRequest>
{
    public async Task PreProcessAsync(IPreProcessorContext<TRequest> context, CancellationToken ct)
    {
        if (context.HttpContext.ResponseStarted())
        {
            return;
        }

        await context.HttpContext.RequestServices.GetRequiredService<KillSwitchGate>().AdmitAsync(context.HttpContext, blockWritesWhenReadOnly: true);
    }
}
