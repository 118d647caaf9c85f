using Ops.Modules.Usage.Sketches;

namespace Ops.Modules.Usage.Tests.Integration;

internal static class Sketches
{
    public static long[] LatencySketchOf(params double[] values)
    {
        var sketch = new LatencySketch();
        foreach (var value in values)
        {
            sketch.Add(value);
        }

        return sketch.ToPairs();
    }
}
