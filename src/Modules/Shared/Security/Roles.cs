namespace Ops.Modules.Shared.Security;

/// <summary>The roles an API key can carry. Every endpoint declares the roles it accepts.</summary>
public static class Roles
{
    /// <summary>Write-only keys for agents: send usage and audit events, ask the kill switch.</summary>
    public const string Ingest = "ingest";

    /// <summary>Read the tenant's data: metrics, audit log, alerts.</summary>
    public const string Read = "read";

    /// <summary>Operate the tenant: keys, flags, budgets, rules. Implies <see cref="Read"/>.</summary>
    public const string Admin = "admin";

    /// <summary>Not grantable on its own: carried by platform admin keys, which manage every tenant.</summary>
    public const string Platform = "platform";

    public static readonly IReadOnlyList<string> Grantable = [Ingest, Read, Admin];
}
