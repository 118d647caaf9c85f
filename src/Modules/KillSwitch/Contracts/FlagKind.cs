namespace Ops.Modules.KillSwitch.Contracts;

/// <summary>What a flag does. On the wire: <c>killall</c>, <c>read_only</c>, <c>kill_user</c>, <c>kill_agent</c>, <c>kill_model</c>, <c>feature</c>.</summary>
public enum FlagKind
{
    /// <summary><c>killall</c>: every agent of the scope halts.</summary>
    Killall,

    /// <summary><c>read_only</c>: agents may read, must not write.</summary>
    ReadOnly,

    /// <summary><c>kill:user:{user_id}</c>: one end user is blocked.</summary>
    KillUser,

    /// <summary><c>kill:agent:{agent_id}</c>: one agent halts.</summary>
    KillAgent,

    /// <summary><c>kill:model:{model}</c>: one model must not be called.</summary>
    KillModel,

    /// <summary>A customer feature flag, evaluated through Microsoft.FeatureManagement.</summary>
    Feature,
}

/// <summary>Whose flag it is: the tenant's own, or the platform's (a platform-wide <c>killall</c> / <c>read_only</c>).</summary>
public enum FlagScope
{
    Tenant,
    Platform,
}

/// <summary>Which flag stopped a caller.</summary>
public enum KillScope
{
    /// <summary>The platform-wide <c>killall</c>.</summary>
    Platform,

    /// <summary>The tenant's <c>killall</c>.</summary>
    Tenant,

    User,
    Agent,
    Model,
}
