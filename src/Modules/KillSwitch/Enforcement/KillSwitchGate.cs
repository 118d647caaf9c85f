using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Ops.Modules.Audit.Contracts;
using Ops.Modules.KillSwitch.Contracts;
using Ops.Modules.KillSwitch.Flags;
using Ops.Modules.Shared.Security;

namespace Ops.Modules.KillSwitch.Enforcement;

/// <summary>
/// The enforcement decision both adapters share (ASP.NET middleware and FastEndpoints pre-processor): asks the
/// in-memory kill switch about the caller's tenant and the request's user, agent and model; a killed caller (or a
/// write during <c>read_only</c>) gets 503 problem details with the reason and <c>Retry-After</c>, and an audit
/// event <c>killed</c> is queued (written off the request path, so a halt during a database outage still
/// answers at once).
/// </summary>
internal sealed class KillSwitchGate(FlagCache cache, KilledRequestAuditor auditor, KillSwitchMetrics metrics, TimeProvider time, IOptions<KillSwitchOptions> options)
{
    public const string UserHeader = "X-Ops-User-Id";
    public const string AgentHeader = "X-Ops-Agent-Id";
    public const string ModelHeader = "X-Ops-Model";
    public const string KilledAction = "killed";

    /// <summary>True when the request may go on; otherwise the 503 has been written.</summary>
    public async Task<bool> AdmitAsync(HttpContext context, bool blockWritesWhenReadOnly)
    {
        var caller = context.GetCaller();
        var user = Subject(context, "user_id", UserHeader);
        var agent = Subject(context, "agent_id", AgentHeader);
        var model = Subject(context, "model", ModelHeader);
        var verdict = cache.Check(caller.TenantId, user, agent, model);
        var write = !(HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method) || HttpMethods.IsOptions(context.Request.Method));
        if (verdict.Killed)
        {
            await RejectAsync(context, caller, verdict, user, agent, model, readOnly: false);
            return false;
        }

        if (verdict.ReadOnly && blockWritesWhenReadOnly && write)
        {
            await RejectAsync(context, caller, verdict, user, agent, model, readOnly: true);
            return false;
        }

        return true;
    }

    private async Task RejectAsync(HttpContext context, Caller caller, KillSwitchVerdict verdict, string? user, string? agent, string? model, bool readOnly)
    {
        var retryAfter = readOnly ? options.Value.DefaultRetryAfterSeconds : verdict.RetryAfterSeconds ?? options.Value.DefaultRetryAfterSeconds;
        var reason = readOnly ? verdict.ReadOnlyReason : verdict.Reason;
        var flag = readOnly ? FlagKeys.ReadOnly : verdict.Flag;
        var scope = readOnly ? null : verdict.Scope?.ToString().ToLowerInvariant();
        metrics.Rejected(readOnly ? "read_only" : scope ?? "unknown");
        auditor.Enqueue(new AuditEvent
        {
            TenantId = caller.TenantId,
            Action = KilledAction,
            Timestamp = time.GetUtcNow(),
            UserId = user,
            RequestId = context.Request.Headers["X-Request-Id"].FirstOrDefault() is { Length: > 0 } requestId ? requestId : context.TraceIdentifier,
            Status = "rejected",
            Actor = caller.Actor,
            Details = new JsonObject
            {
                ["cause"] = readOnly ? "read_only" : "killed",
                ["flag"] = flag,
                ["scope"] = scope,
                ["reason"] = reason,
                ["method"] = context.Request.Method,
                ["path"] = context.Request.Path.Value,
                ["agent_id"] = agent,
                ["model"] = model,
                ["stale"] = verdict.Stale,
                ["trace_id"] = System.Diagnostics.Activity.Current?.TraceId.ToString() ?? context.TraceIdentifier,
            },
        });

        context.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
        context.Response.Headers.CacheControl = "no-store";
        var extensions = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["killed"] = !readOnly,
            ["read_only"] = verdict.ReadOnly,
            ["flag"] = flag,
            ["scope"] = scope,
            ["reason"] = reason,
            ["retry_after_s"] = retryAfter,
            ["stale"] = verdict.Stale,
        };
        await TypedResults.Problem(
                title: readOnly ? "Read-only mode: writes are halted by the kill switch" : "Halted by the kill switch",
                detail: reason,
                statusCode: StatusCodes.Status503ServiceUnavailable,
                extensions: extensions)
            .ExecuteAsync(context);
    }

    /// <summary>From the query string (as the check takes them) or the X-Ops-* headers (for routes whose query means something else).</summary>
    private static string? Subject(HttpContext context, string query, string header)
    {
        var value = context.Request.Query[query].FirstOrDefault();
        if (string.IsNullOrEmpty(value))
        {
            value = context.Request.Headers[header].FirstOrDefault();
        }

        return string.IsNullOrEmpty(value) ? null : value;
    }
}
