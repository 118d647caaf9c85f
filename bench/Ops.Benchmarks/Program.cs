using System.Reflection;
using Ops.Benchmarks.Infrastructure;

// dotnet run -c Release --project bench/Ops.Benchmarks -- <suite|all> [--option value ...]
var suites = Assembly.GetExecutingAssembly().GetTypes()
    .Where(t => typeof(IBenchSuite).IsAssignableFrom(t) && t is { IsClass: true, IsAbstract: false })
    .Select(t => (IBenchSuite)Activator.CreateInstance(t)!)
    .OrderBy(s => s.Name, StringComparer.Ordinal)
    .ToList();

if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.WriteLine("Usage: dotnet run -c Release --project bench/Ops.Benchmarks -- <suite|all> [--option value ...]");
    foreach (var suite in suites)
    {
        Console.WriteLine($"  {suite.Name,-24} {suite.Title}");
    }

    return suites.Count == 0 ? 1 : 0;
}

var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 1; i + 1 < args.Length; i += 2)
{
    options[args[i].TrimStart('-')] = args[i + 1];
}

var selected = args[0] == "all" ? suites : suites.Where(s => s.Name == args[0]).ToList();
if (selected.Count == 0)
{
    Console.Error.WriteLine($"No suite named '{args[0]}'.");
    return 1;
}

await using var context = new BenchContext { Options = options };
foreach (var suite in selected)
{
    Console.WriteLine($"=== {suite.Title} ===");
    var markdown = await suite.RunAsync(context, CancellationToken.None);
    Console.WriteLine(markdown);
    PerfDocument.Update(suite, markdown);
}

return 0;
