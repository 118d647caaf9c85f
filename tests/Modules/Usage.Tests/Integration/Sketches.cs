using Ops.Modules.Usage.Sketches;

namespace Ops.Modules.Usage.Tests.Integration;

internal static class Sketches
{
    /// <summary>The stored form's text, as Postgres prints bigint[][].</summary>
    public static string LatencySketchOf(params double[] values)
    {
        var sketch = new LatencySketch();
        foreach (var value in values)
        {
            sketch.Add(value);
        }

        return sketch.ToPostgresLiteral();
    }
}
