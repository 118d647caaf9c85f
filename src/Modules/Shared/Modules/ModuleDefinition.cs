using System.Reflection;

namespace Ops.Modules.Shared.Modules;

/// <summary>
/// What the host needs to know about a module: its name, the one Postgres schema it owns, and the assembly
/// that holds its endpoints and migrations.
/// </summary>
public sealed record ModuleDefinition(string Name, string Schema, Assembly Assembly);
