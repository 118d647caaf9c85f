using Ops.Modules.Usage.Sketches;
using Ops.Modules.Usage.Tests.Unit;
using Ops.Testing;
using Shouldly;
using Xunit;

namespace Ops.Modules.Usage.Tests.Integration;

/// <summary>The SQL sketch functions (what rollup upserts and later queries use) agree with LatencySketch.</summary>
public sealed class SketchSqlTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    private UsageDatabase Db => new(host.ConnectionString);

    [Fact]
    public async Task Sql_merge_union_and_quantile_equal_the_in_memory_sketch()
    {
        var values = LatencySketchTests.LogNormalLatencies(30_000, seed: 3);
        var parts = values.Chunk(1_000).Select(chunk =>
        {
            var sketch = new LatencySketch();
            foreach (var value in chunk)
            {
                sketch.Add(value);
            }

            return sketch;
        }).ToList();
        var merged = parts.Aggregate(new LatencySketch(), LatencySketch.Merge);

        var pairMerged = await Db.ScalarAsync<object>("SELECT usage.sketch_merge(@a, @b)", new { a = parts[0].ToStored(), b = parts[1].ToStored() });
        LatencySketch.FromStored(pairMerged).ToPairs().ShouldBe(LatencySketch.Merge(parts[0], parts[1]).ToPairs());
        LatencySketch.FromStored(await Db.ScalarAsync<object>("SELECT usage.sketch_merge(@a, '{}')", new { a = parts[0].ToStored() })).ToPairs().ShouldBe(parts[0].ToPairs());
        (await Db.ScalarAsync<string>("SELECT usage.sketch_merge('{}', '{}')::text")).ShouldBe("{}");

        var union = await Db.ScalarAsync<object>(
            "SELECT usage.sketch_union(sketch) FROM unnest(@ids, @texts) AS u(id, text), LATERAL (SELECT text::bigint[] AS sketch) x",
            new { ids = Enumerable.Range(0, parts.Count).ToArray(), texts = parts.Select(p => p.ToPostgresLiteral()).ToArray() });
        LatencySketch.FromStored(union).ToPairs().ShouldBe(merged.ToPairs());

        foreach (var q in new[] { 0.5, 0.95, 0.99 })
        {
            var sql = await Db.ScalarAsync<double>("SELECT usage.sketch_quantile(@s, @q)", new { s = merged.ToStored(), q });
            sql.ShouldBe(merged.Quantile(q)!.Value, 1e-9);
            var exact = await Db.ScalarAsync<double>("SELECT percentile_cont(@q) WITHIN GROUP (ORDER BY v) FROM unnest(@values) v", new { q, values });
            (Math.Abs(sql - exact) / exact).ShouldBeLessThanOrEqualTo(0.01);
        }

        (await Db.ScalarAsync<double?>("SELECT usage.sketch_quantile('{}', 0.95)")).ShouldBeNull();

        // The fold computes buckets in SQL; they match LatencySketch's on every integer millisecond up to 10 minutes.
        var mismatches = await Db.ScalarAsync<long>(
            "SELECT count(*) FROM unnest(@values, @buckets) AS u(v, b) WHERE usage.sketch_bucket(v) <> b",
            new { values = Enumerable.Range(0, 600_001).Select(v => (double)v).ToArray(), buckets = Enumerable.Range(0, 600_001).Select(v => LatencySketch.BucketOf(v)).ToArray() });
        mismatches.ShouldBe(0);
    }
}
