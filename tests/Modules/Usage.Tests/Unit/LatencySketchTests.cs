using Ops.Modules.Usage.Sketches;
using Shouldly;
using Xunit;

namespace Ops.Modules.Usage.Tests.Unit;

public sealed class LatencySketchTests
{
    [Theory]
    [InlineData(0.50)]
    [InlineData(0.95)]
    [InlineData(0.99)]
    [InlineData(0.999)]
    public void Quantiles_are_within_one_percent_of_the_exact_percentile_cont(double q)
    {
        var values = LogNormalLatencies(200_000, seed: 7);
        var sketch = new LatencySketch();
        foreach (var value in values)
        {
            sketch.Add(value);
        }

        var exact = PercentileCont(values, q);
        var estimate = sketch.Quantile(q)!.Value;
        (Math.Abs(estimate - exact) / exact).ShouldBeLessThanOrEqualTo(LatencySketch.RelativeAccuracy, $"q={q}: sketch {estimate} vs exact {exact}");
    }

    [Fact]
    public void Every_value_is_within_one_percent_of_its_bucket_value()
    {
        foreach (var value in new[] { 1.0, 2, 3, 10, 99, 100, 101, 999, 2310, 65_535, 1_000_000, int.MaxValue })
        {
            var bucketValue = LatencySketch.ValueOf(LatencySketch.BucketOf(value));
            (Math.Abs(bucketValue - value) / value).ShouldBeLessThanOrEqualTo(LatencySketch.RelativeAccuracy + 1e-12, $"value {value}");
        }
    }

    [Fact]
    public void Values_below_one_millisecond_count_as_zero()
    {
        var sketch = new LatencySketch();
        sketch.Add(0);
        sketch.Add(0.4);
        sketch.Quantile(0.5).ShouldBe(0);
        sketch.ToPairs().ShouldBe([LatencySketch.ZeroBucket, 2]);
    }

    [Fact]
    public void Merge_is_associative_and_commutative_and_equals_one_sketch_of_everything()
    {
        var random = new Random(11);
        var everything = new LatencySketch();
        LatencySketch Random(int n)
        {
            var s = new LatencySketch();
            for (var i = 0; i < n; i++)
            {
                var value = random.Next(0, 60_000);
                s.Add(value);
                everything.Add(value);
            }

            return s;
        }

        var a = Random(1_000);
        var b = Random(2_000);
        var c = Random(500);
        var leftFirst = LatencySketch.Merge(LatencySketch.Merge(a, b), c);
        var rightFirst = LatencySketch.Merge(a, LatencySketch.Merge(b, c));
        var reordered = LatencySketch.Merge(LatencySketch.Merge(c, a), b);

        rightFirst.ToPairs().ShouldBe(leftFirst.ToPairs());
        reordered.ToPairs().ShouldBe(leftFirst.ToPairs());
        leftFirst.Count.ShouldBe(3_500);
        everything.ToPairs().ShouldBe(leftFirst.ToPairs());
    }

    [Fact]
    public void Merging_with_an_empty_sketch_changes_nothing()
    {
        var a = new LatencySketch();
        a.Add(120);
        a.Add(2_310);
        LatencySketch.Merge(a, new LatencySketch()).ToPairs().ShouldBe(a.ToPairs());
        LatencySketch.Merge(new LatencySketch(), a).ToPairs().ShouldBe(a.ToPairs());
    }

    [Fact]
    public void The_storage_form_round_trips_and_is_sorted_pairs()
    {
        var sketch = new LatencySketch();
        foreach (var value in new[] { 2_310.0, 5, 5, 0, 800 })
        {
            sketch.Add(value);
        }

        var pairs = sketch.ToPairs();
        pairs.Length.ShouldBe(8);
        pairs.Where((_, i) => i % 2 == 0).ShouldBeInOrder();
        LatencySketch.FromPairs(pairs).ToPairs().ShouldBe(pairs);
        LatencySketch.FromStored(sketch.ToStored()).ToPairs().ShouldBe(pairs);
        sketch.ToStored().GetLength(0).ShouldBe(4);
        sketch.ToPostgresLiteral().ShouldBe("{" + string.Join(',', pairs.Chunk(2).Select(p => $"{{{p[0]},{p[1]}}}")) + "}");
        LatencySketch.FromStored(Array.Empty<long>()).IsEmpty.ShouldBeTrue();
        Should.Throw<FormatException>(() => LatencySketch.FromPairs([1, 2, 3]));
    }

    [Fact]
    public void An_empty_sketch_has_no_quantile()
    {
        new LatencySketch().Quantile(0.95).ShouldBeNull();
        new LatencySketch().ToPostgresLiteral().ShouldBe("{}");
    }

    /// <summary>Latencies of LLM calls: log-normal around ~1.5 s with a long tail (up to minutes).</summary>
    internal static double[] LogNormalLatencies(int count, int seed)
    {
        var random = new Random(seed);
        var values = new double[count];
        for (var i = 0; i < count; i++)
        {
            var normal = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            values[i] = Math.Round(Math.Exp(7.3 + (0.8 * normal)));
        }

        return values;
    }

    /// <summary>PostgreSQL's percentile_cont: linear interpolation at rank q·(n−1) of the sorted values.</summary>
    internal static double PercentileCont(double[] values, double q)
    {
        var sorted = values.Order().ToArray();
        var rank = q * (sorted.Length - 1);
        var low = (int)Math.Floor(rank);
        var high = (int)Math.Ceiling(rank);
        return sorted[low] + ((rank - low) * (sorted[high] - sorted[low]));
    }
}
