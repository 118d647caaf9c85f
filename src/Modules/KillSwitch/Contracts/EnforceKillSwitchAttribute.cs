namespace Ops.Modules.KillSwitch.Contracts;

/// <summary>
/// Endpoint metadata: the kill-switch middleware (<c>UseKillSwitchEnforcement</c>) rejects a killed caller of
/// this endpoint with 503, and, when <see cref="BlockWritesWhenReadOnly"/>, rejects writes (any method but GET,
/// HEAD, OPTIONS) while <c>read_only</c> is on. Never put it on ingestion or audit writes: evidence of what
/// happened must still be recorded during a halt.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method)]
public sealed class EnforceKillSwitchAttribute : Attribute
{
    public bool BlockWritesWhenReadOnly { get; init; } = true;
}
