using System.Reflection;
using NetArchTest.Rules;
using Shouldly;
using Xunit;

namespace Ops.Architecture.Tests;

/// <summary>
/// The modular monolith's rules (DESIGN.md §2): a module's internals stay internal, modules talk to each other
/// only through their Contracts namespaces, and only in the allowed directions.
/// </summary>
public sealed class ModuleBoundaryTests
{
    private static readonly Dictionary<string, Assembly> Modules = new()
    {
        ["Usage"] = typeof(Ops.Modules.Usage.UsageModule).Assembly,
        ["Audit"] = typeof(Ops.Modules.Audit.AuditModule).Assembly,
        ["Alerts"] = typeof(Ops.Modules.Alerts.AlertsModule).Assembly,
        ["KillSwitch"] = typeof(Ops.Modules.KillSwitch.KillSwitchModule).Assembly,
    };

    /// <summary>Which modules each module may use (through their Contracts only).</summary>
    private static readonly Dictionary<string, string[]> AllowedDependencies = new()
    {
        ["Usage"] = ["Audit"],
        ["Audit"] = [],
        ["KillSwitch"] = ["Audit"],
        ["Alerts"] = ["Usage", "KillSwitch", "Audit"],
    };

    public static TheoryData<string> ModuleNames => new(Modules.Keys);

    [Theory]
    [MemberData(nameof(ModuleNames))]
    public void Only_the_registration_class_and_Contracts_are_public(string module)
    {
        var assembly = Modules[module];
        var contracts = $"Ops.Modules.{module}.Contracts";
        var registration = $"Ops.Modules.{module}.{module}Module";
        var leaks = assembly.GetExportedTypes()
            .Where(t => t.FullName != registration && t.Namespace != contracts && t.Namespace?.StartsWith(contracts + ".", StringComparison.Ordinal) != true)
            .Select(t => t.FullName)
            .ToList();
        leaks.ShouldBeEmpty($"{module} exposes internals; make them internal or move them to {contracts}");
    }

    [Theory]
    [MemberData(nameof(ModuleNames))]
    public void A_module_uses_other_modules_only_through_their_contracts(string module)
    {
        foreach (var (other, otherAssembly) in Modules.Where(m => m.Key != module))
        {
            var contracts = $"Ops.Modules.{other}.Contracts";
            var forbidden = otherAssembly.GetTypes()
                .Where(t => t.FullName is not null && t.Namespace != contracts && t.Namespace?.StartsWith(contracts + ".", StringComparison.Ordinal) != true)
                // Compiler-synthesised types (<>z__ReadOnlyArray`1 for collection expressions, …) have the same name
                // in every assembly; matching by name would report each module as depending on the others.
                .Where(t => !t.FullName!.StartsWith('<'))
                .Select(t => t.FullName!)
                .ToArray();
            var result = Types.InAssembly(Modules[module]).ShouldNot().HaveDependencyOnAny(forbidden).GetResult();
            result.IsSuccessful.ShouldBeTrue(
                $"{module} depends on {other} internals: {string.Join(", ", result.FailingTypeNames ?? [])}");
        }
    }

    [Theory]
    [MemberData(nameof(ModuleNames))]
    public void Module_references_follow_the_allowed_directions(string module)
    {
        var referenced = Modules[module].GetReferencedAssemblies().Select(a => a.Name).ToHashSet();
        foreach (var other in Modules.Keys.Where(m => m != module))
        {
            if (referenced.Contains($"Ops.Modules.{other}"))
            {
                AllowedDependencies[module].ShouldContain(other, $"{module} may not reference {other}");
            }
        }
    }

    [Fact]
    public void The_shared_kernel_depends_on_no_module()
    {
        var kernel = typeof(Ops.Modules.Shared.Modules.ModuleDefinition).Assembly;
        var referenced = kernel.GetReferencedAssemblies().Select(a => a.Name).ToList();
        referenced.ShouldNotContain(name => name!.StartsWith("Ops.Modules.", StringComparison.Ordinal) || name == "Ops.Api");
    }
}
