namespace Ops.Modules.Usage.Reading;

/// <summary>SQL that merges rollup rows' sketches set-based (ADR 0021) and reads a quantile from the merge.</summary>
internal static class SketchSql
{
    /// <summary>
    /// Per <paramref name="key"/> (an expression over the rows of <paramref name="rows"/>, aliased <c>s</c>): the p95 of the
    /// merged <paramref name="sketch"/> column and its sample count, as columns <c>key</c>, <c>p95</c>, <c>samples</c>.
    /// Keys without samples have no row.
    /// </summary>
    public static string P95(string rows, string key, string sketch) => $"""
        SELECT m.key, usage.sketch_quantile(array_agg(ARRAY[m.bucket::bigint, m.c::bigint] ORDER BY m.bucket), 0.95) AS p95, sum(m.c)::bigint AS samples
        FROM (SELECT {key} AS key, b.bucket, sum(b.count) AS c FROM {rows} s CROSS JOIN LATERAL usage.sketch_buckets(s.{sketch}) b GROUP BY 1, 2) m
        GROUP BY m.key
        """;
}
