using System.Globalization;
using System.Text;

namespace Ops.Modules.Usage.Sketches;

/// <summary>
/// A DDSketch-style mergeable quantile sketch for latencies in milliseconds (ADR 0021). Bucket <c>k ≥ 0</c> counts
/// the values in <c>(γ^(k-1), γ^k]</c> with <c>γ = (1 + α) / (1 - α)</c>, so any quantile is answered within the
/// relative accuracy <c>α = 1 %</c>; values below 1 ms count in the zero bucket (key -1, reported as 0).
/// Merging adds counts bucket by bucket, so it is associative and commutative and a p95 over any range of rollup
/// rows is a merge of their sketches. Stored in Postgres as sorted <c>bigint[]</c> pairs
/// <c>{key₀, count₀, key₁, count₁, …}</c>, the format <c>usage.sketch_merge</c> merges set-based in SQL.
/// </summary>
internal sealed class LatencySketch
{
    public const double RelativeAccuracy = 0.01;
    public const int ZeroBucket = -1;
    public static readonly double Gamma = (1 + RelativeAccuracy) / (1 - RelativeAccuracy);
    private static readonly double LogGamma = Math.Log(Gamma);

    private readonly SortedDictionary<int, long> _buckets = [];

    public long Count { get; private set; }

    public bool IsEmpty => Count == 0;

    public IEnumerable<KeyValuePair<int, long>> Buckets => _buckets;

    public static int BucketOf(double value)
    {
        if (double.IsNaN(value) || value < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "A latency is a non-negative number of milliseconds.");
        }

        return value < 1 ? ZeroBucket : (int)Math.Ceiling(Math.Log(value) / LogGamma);
    }

    /// <summary>The value a bucket stands for: the point within α of both of its bounds.</summary>
    public static double ValueOf(int bucket) => bucket < 0 ? 0 : 2 * Math.Pow(Gamma, bucket) / (Gamma + 1);

    public void Add(double value, long count = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        AddToBucket(BucketOf(value), count);
    }

    public void Merge(LatencySketch other)
    {
        foreach (var (bucket, count) in other._buckets)
        {
            AddToBucket(bucket, count);
        }
    }

    public static LatencySketch Merge(LatencySketch left, LatencySketch right)
    {
        var merged = new LatencySketch();
        merged.Merge(left);
        merged.Merge(right);
        return merged;
    }

    /// <summary>
    /// The q-quantile with <c>percentile_cont</c>'s definition (linear interpolation between the order statistics
    /// around rank q·(n−1)), each order statistic replaced by its bucket's value; null when empty.
    /// </summary>
    public double? Quantile(double q)
    {
        if (q is < 0 or > 1 || double.IsNaN(q))
        {
            throw new ArgumentOutOfRangeException(nameof(q), q, "A quantile is between 0 and 1.");
        }

        if (Count == 0)
        {
            return null;
        }

        var rank = q * (Count - 1);
        var lowRank = (long)Math.Floor(rank);
        var highRank = (long)Math.Ceiling(rank);
        double? low = null;
        double? high = null;
        long seen = 0;
        foreach (var (bucket, count) in _buckets)
        {
            seen += count;
            if (low is null && seen > lowRank)
            {
                low = ValueOf(bucket);
            }

            if (seen > highRank)
            {
                high = ValueOf(bucket);
                break;
            }
        }

        return low!.Value + ((rank - lowRank) * (high!.Value - low.Value));
    }

    /// <summary>The storage form: sorted (key, count) pairs, flattened.</summary>
    public long[] ToPairs()
    {
        var pairs = new long[_buckets.Count * 2];
        var i = 0;
        foreach (var (bucket, count) in _buckets)
        {
            pairs[i++] = bucket;
            pairs[i++] = count;
        }

        return pairs;
    }

    /// <summary>The storage form as a Postgres array literal (<c>{-1,3,412,7}</c>), for array parameters of arrays.</summary>
    public string ToPostgresLiteral()
    {
        var text = new StringBuilder(_buckets.Count * 8).Append('{');
        var first = true;
        foreach (var (bucket, count) in _buckets)
        {
            if (!first)
            {
                text.Append(',');
            }

            text.Append(bucket.ToString(CultureInfo.InvariantCulture)).Append(',').Append(count.ToString(CultureInfo.InvariantCulture));
            first = false;
        }

        return text.Append('}').ToString();
    }

    public static LatencySketch FromPairs(ReadOnlySpan<long> pairs)
    {
        if (pairs.Length % 2 != 0)
        {
            throw new FormatException("A stored sketch has an even number of elements (key, count pairs).");
        }

        var sketch = new LatencySketch();
        for (var i = 0; i < pairs.Length; i += 2)
        {
            if (pairs[i] is < ZeroBucket or > int.MaxValue || pairs[i + 1] <= 0)
            {
                throw new FormatException($"Invalid sketch pair ({pairs[i]}, {pairs[i + 1]}).");
            }

            sketch.AddToBucket((int)pairs[i], pairs[i + 1]);
        }

        return sketch;
    }

    private void AddToBucket(int bucket, long count)
    {
        _buckets[bucket] = _buckets.GetValueOrDefault(bucket) + count;
        Count += count;
    }
}
