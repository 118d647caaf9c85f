using System.Reflection;
using System.Xml.Linq;

namespace Ops.Api.Hosting.OpenApi;

/// <summary>Reads the &lt;summary&gt; of request DTO properties from the modules' XML documentation files, to describe query parameters.</summary>
internal static class XmlSummaries
{
    private static readonly Dictionary<Assembly, Dictionary<string, string>> Cache = [];
    private static readonly Lock Gate = new();

    public static string? For(PropertyInfo property)
    {
        var assembly = property.DeclaringType!.Assembly;
        Dictionary<string, string> members;
        lock (Gate)
        {
            if (!Cache.TryGetValue(assembly, out members!))
            {
                members = Load(assembly);
                Cache[assembly] = members;
            }
        }

        var key = $"P:{property.DeclaringType!.FullName?.Replace('+', '.')}.{property.Name}";
        return members.GetValueOrDefault(key);
    }

    private static Dictionary<string, string> Load(Assembly assembly)
    {
        var path = Path.ChangeExtension(assembly.Location, ".xml");
        if (string.IsNullOrEmpty(assembly.Location) || !File.Exists(path))
        {
            return [];
        }

        return XDocument.Load(path).Descendants("member")
            .Where(m => m.Attribute("name") is not null && m.Element("summary") is not null)
            .GroupBy(m => m.Attribute("name")!.Value)
            .ToDictionary(
                g => g.Key,
                g => string.Join(' ', g.First().Element("summary")!.Value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)));
    }
}
