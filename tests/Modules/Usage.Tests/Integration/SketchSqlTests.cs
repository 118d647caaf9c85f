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

        var pairMerged = await Db.ScalarAsync<long[]>("SELECT usage.sketch_merge(@a, @b)", new { a = parts[0].ToPairs(), b = parts[1].ToPairs() });
        pairMerged.ShouldBe(LatencySketch.Merge(parts[0], parts[1]).ToPairs());
        (await Db.ScalarAsync<long[]>("SELECT usage.sketch_merge(@a, '{}')", new { a = parts[0].ToPairs() })).ShouldBe(parts[0].ToPairs());

        var union = await Db.ScalarAsync<long[]>(
            "SELECT usage.sketch_union(sketch) FROM unnest(@ids, @texts) AS u(id, text), LATERAL (SELECT text::bigint[] AS sketch) x",
            new { ids = Enumerable.Range(0, parts.Count).ToArray(), texts = parts.Select(p => p.ToPostgresLiteral()).ToArray() });
        union.ShouldBe(merged.ToPairs());

        foreach (var q in new[] { 0.5, 0.95, 0.99 })
        {
            var sql = await Db.ScalarAsync<double>("SELECT usage.sketch_quantile(@s, @q)", new { s = merged.ToPairs(), q });
            sql.ShouldBe(merged.Quantile(q)!.Value, 1e-9);
            var exact = await Db.ScalarAsync<double>("SELECT percentile_cont(@q) WITHIN GROUP (ORDER BY v) FROM unnest(@values) v", new { q, values });
            (Math.Abs(sql - exact) / exact).ShouldBeLessThanOrEqualTo(0.01);
        }

        (await Db.ScalarAsync<double?>("SELECT usage.sketch_quantile('{}', 0.95)")).ShouldBeNull();
    }
}
