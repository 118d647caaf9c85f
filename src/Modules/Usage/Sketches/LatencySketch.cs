using System.Globalization;
using System.Text;

namespace Ops.Modules.Usage.Sketches;

/// <summary>
/// A DDSketch-style mergeable quantile sketch for latencies in milliseconds (ADR 0021). Bucket <c>k ≥ 0</c> counts
/// the values in <c>(γ^(k-1), γ^k]</c> with <c>γ = (1 + α) / (1 - α)</c>, so any quantile is answered within the
/// relative accuracy <c>α = 1 %</c>; values below 1 ms count in the zero bucket (key -1, reported as 0).
/// Merging adds counts bucket by bucket, so it is associative and commutative and a p95 over any range of rollup
/// rows is a merge of their sketches. Stored in Postgres as a <c>bigint[n][2]</c> of the non-empty buckets'
/// <c>{bucket, count}</c> rows in bucket order (what <c>usage.sketch_buckets</c> and <c>usage.sketch_merge</c> read;
/// two-dimensional so SQL builds it with one <c>array_agg(ARRAY[bucket, count])</c>). In memory the counts are a dense
/// array over the keys seen (they span a few hundred buckets: 1 ms … 1 h is 0 … 412), so adding and merging are
/// array increments.
/// </summary>
internal sealed class LatencySketch
{
    public const double RelativeAccuracy = 0.01;
    public const int ZeroBucket = -1;

    /// <summary>Written as 1.01 / 0.99 so SQL (usage.sketch_value) computes the very same double.</summary>
    public static readonly double Gamma = 1.01 / 0.99;
    private static readonly double LogGamma = Math.Log(Gamma);

    private long[] _counts = [];
    private int _offset; // the key of _counts[0]

    public long Count { get; private set; }

    public bool IsEmpty => Count == 0;

    /// <summary>The non-empty buckets in key order.</summary>
    public IEnumerable<KeyValuePair<int, long>> Buckets
    {
        get
        {
            for (var i = 0; i < _counts.Length; i++)
            {
                if (_counts[i] != 0)
                {
                    yield return new KeyValuePair<int, long>(_offset + i, _counts[i]);
                }
            }
        }
    }

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
        if (other.Count == 0)
        {
            return;
        }

        Reserve(other._offset, other._offset + other._counts.Length - 1);
        var shift = other._offset - _offset;
        for (var i = 0; i < other._counts.Length; i++)
        {
            _counts[shift + i] += other._counts[i];
        }

        Count += other.Count;
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
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (low is null && seen > lowRank)
            {
                low = ValueOf(_offset + i);
            }

            if (seen > highRank)
            {
                high = ValueOf(_offset + i);
                break;
            }
        }

        return low!.Value + ((rank - lowRank) * (high!.Value - low.Value));
    }

    /// <summary>Sorted (key, count) pairs of the non-empty buckets, flattened: the order of the stored array's elements.</summary>
    public long[] ToPairs()
    {
        var pairs = new List<long>();
        foreach (var (bucket, count) in Buckets)
        {
            pairs.Add(bucket);
            pairs.Add(count);
        }

        return [.. pairs];
    }

    /// <summary>The storage form, <c>bigint[n][2]</c>.</summary>
    public long[,] ToStored()
    {
        var pairs = ToPairs();
        var stored = new long[pairs.Length / 2, 2];
        Buffer.BlockCopy(pairs, 0, stored, 0, pairs.Length * sizeof(long));
        return stored;
    }

    /// <summary>The storage form as a Postgres array literal (<c>{{-1,3},{412,7}}</c>; <c>{}</c> when empty).</summary>
    public string ToPostgresLiteral()
    {
        var text = new StringBuilder(_counts.Length * 8).Append('{');
        foreach (var (bucket, count) in Buckets)
        {
            if (text.Length > 1)
            {
                text.Append(',');
            }

            text.Append('{').Append(bucket.ToString(CultureInfo.InvariantCulture)).Append(',').Append(count.ToString(CultureInfo.InvariantCulture)).Append('}');
        }

        return text.Append('}').ToString();
    }

    /// <summary>Reads a stored sketch as Npgsql returns it: <c>long[,]</c>, or an empty <c>long[]</c> for '{}'.</summary>
    public static LatencySketch FromStored(object stored) => stored switch
    {
        long[,] rows when rows.GetLength(1) == 2 => FromPairs(Flatten(rows)),
        long[] { Length: 0 } => new LatencySketch(),
        DBNull => new LatencySketch(),
        _ => throw new FormatException($"A stored sketch is a bigint[n][2], not {stored.GetType()}."),
    };

    private static long[] Flatten(long[,] rows)
    {
        var flat = new long[rows.Length];
        Buffer.BlockCopy(rows, 0, flat, 0, flat.Length * sizeof(long));
        return flat;
    }

    public static LatencySketch FromPairs(ReadOnlySpan<long> pairs)
    {
        if (pairs.Length % 2 != 0)
        {
            throw new FormatException("A stored sketch has an even number of elements (key, count pairs).");
        }

        var sketch = new LatencySketch();
        if (pairs.Length > 0)
        {
            sketch.Reserve((int)Math.Clamp(pairs[0], ZeroBucket, int.MaxValue), (int)Math.Clamp(pairs[^2], ZeroBucket, int.MaxValue));
        }

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
        Reserve(bucket, bucket);
        _counts[bucket - _offset] += count;
        Count += count;
    }

    /// <summary>Grows the dense range to cover [first, last] (with some headroom, as latencies wander).</summary>
    private void Reserve(int first, int last)
    {
        if (_counts.Length == 0)
        {
            _offset = first;
            _counts = new long[Math.Max(last - first + 1, 16)];
            return;
        }

        var end = _offset + _counts.Length - 1;
        if (first >= _offset && last <= end)
        {
            return;
        }

        var newOffset = Math.Min(first, _offset);
        var newEnd = Math.Max(last, end);
        var headroom = (newEnd - newOffset + 1) / 4;
        if (first < _offset)
        {
            newOffset = Math.Max(ZeroBucket, newOffset - headroom);
        }

        if (last > end)
        {
            newEnd += headroom;
        }

        var grown = new long[newEnd - newOffset + 1];
        Array.Copy(_counts, 0, grown, _offset - newOffset, _counts.Length);
        _counts = grown;
        _offset = newOffset;
    }
}
