using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Ops.Modules.Shared.Json;
using Ops.Modules.Shared.Security;

namespace Ops.Modules.Audit.Contracts;

/// <summary>Builds the audit event of an operator action (who, what, on which target, before/after, why).</summary>
public static class OperatorAction
{
    public static AuditEvent Create(
        HttpContext context,
        string action,
        DateTimeOffset at,
        string target,
        object? before = null,
        object? after = null,
        string? reason = null,
        string? tenantId = null)
    {
        var caller = context.GetCaller();
        var details = new JsonObject
        {
            ["target"] = target,
            ["key_id"] = caller.KeyId.ToString(),
            ["key_name"] = caller.KeyName,
            ["trace_id"] = System.Diagnostics.Activity.Current?.TraceId.ToString() ?? context.TraceIdentifier,
        };
        if (before is not null)
        {
            details["before"] = JsonSerializer.SerializeToNode(before, OpsJson.Options);
        }

        if (after is not null)
        {
            details["after"] = JsonSerializer.SerializeToNode(after, OpsJson.Options);
        }

        if (reason is not null)
        {
            details["reason"] = reason;
        }

        return new AuditEvent
        {
            TenantId = tenantId ?? caller.TenantId,
            Action = action,
            Timestamp = at,
            // No request id: operator actions are never deduplicated; trace_id in the details correlates them.
            Status = "ok",
            Actor = caller.Actor,
            Details = details,
        };
    }
}
