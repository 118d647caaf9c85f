namespace Ops.Modules.Alerts.Breaker;

/// <summary>
/// One subject's spend over a sliding window, from the batches this instance committed: O(1) amortised per add
/// (entries leave from the front as they age out). Entries are kept in arrival order with non-decreasing times
/// (an out-of-order event is filed at the latest time seen, so it leaves the window late, never early: the sum
/// may over-count briefly but never under-counts).
/// </summary>
internal sealed class SlidingWindow
{
    private readonly Queue<(DateTimeOffset At, decimal CostUsd)> _entries = new();
    private DateTimeOffset _latest = DateTimeOffset.MinValue;

    public decimal SumUsd { get; private set; }

    public bool IsEmpty => _entries.Count == 0;

    /// <summary>The window length of the last add (the tenant's setting then).</summary>
    public TimeSpan Window { get; private set; }

    /// <summary>Until when the breaker's kill applies (no need to trip again before).</summary>
    public DateTimeOffset TrippedUntil { get; set; } = DateTimeOffset.MinValue;

    /// <summary>Adds spend at <paramref name="at"/> (the events' own time) unless it is already outside the window.</summary>
    public void Add(DateTimeOffset at, decimal costUsd, DateTimeOffset now, TimeSpan window)
    {
        Window = window;
        Evict(now, window);
        if (at < now - window || costUsd == 0)
        {
            return;
        }

        _latest = at > _latest ? at : _latest;
        _entries.Enqueue((_latest, costUsd));
        SumUsd += costUsd;
    }

    /// <summary>Drops what left the window.</summary>
    public void Evict(DateTimeOffset now, TimeSpan window)
    {
        var cutoff = now - window;
        while (_entries.TryPeek(out var head) && head.At < cutoff)
        {
            _entries.Dequeue();
            SumUsd -= head.CostUsd;
        }

        if (_entries.Count == 0)
        {
            SumUsd = 0;
        }
    }
}
