using System.Reflection;

namespace Ops.Modules.Shared.Modules;

/// <summary>The modules composed into this host, in registration order (which is also migration order).</summary>
public sealed class ModuleCatalog
{
    private readonly List<ModuleDefinition> _modules = [];

    public IReadOnlyList<ModuleDefinition> Modules => _modules;

    public IEnumerable<Assembly> Assemblies => _modules.Select(m => m.Assembly).Distinct();

    internal void Add(ModuleDefinition module)
    {
        if (_modules.Any(m => m.Schema == module.Schema))
        {
            throw new InvalidOperationException($"Schema '{module.Schema}' is already owned by another module.");
        }

        _modules.Add(module);
    }
}
