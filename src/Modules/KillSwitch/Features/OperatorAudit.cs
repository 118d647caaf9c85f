using Microsoft.AspNetCore.Http;
using Ops.Modules.Audit.Contracts;
using Ops.Modules.KillSwitch.Flags;

namespace Ops.Modules.KillSwitch.Features;

internal static class OperatorAudit
{
    /// <summary>Flag changes made through the admin endpoints are audited as the operator's action (key, trace, before/after, reason).</summary>
    public static FlagAuditFactory Of(HttpContext context) =>
        (action, target, before, after, reason, at) => OperatorAction.Create(context, action, at, target, before, after, reason);
}
