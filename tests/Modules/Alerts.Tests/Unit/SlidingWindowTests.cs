using Ops.Modules.Alerts.Breaker;
using Shouldly;
using Xunit;

namespace Ops.Modules.Alerts.Tests.Unit;

public sealed class SlidingWindowTests
{
    private static readonly DateTimeOffset T0 = new(2026, 5, 18, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(20);

    [Fact]
    public void Spend_leaves_the_window_as_it_ages()
    {
        var w = new SlidingWindow();
        w.Add(T0, 3m, T0, Window);
        w.Add(T0.AddMinutes(10), 4m, T0.AddMinutes(10), Window);
        w.SumUsd.ShouldBe(7m);
        w.Evict(T0.AddMinutes(20), Window);
        w.SumUsd.ShouldBe(7m, "an entry exactly one window old is still inside");
        w.Evict(T0.AddMinutes(20).AddTicks(1), Window);
        w.SumUsd.ShouldBe(4m);
        w.Evict(T0.AddMinutes(31), Window);
        w.SumUsd.ShouldBe(0m);
        w.IsEmpty.ShouldBeTrue();
    }

    [Fact]
    public void Events_older_than_the_window_are_ignored_and_late_ones_never_leave_early()
    {
        var w = new SlidingWindow();
        var now = T0.AddMinutes(30);
        w.Add(T0, 100m, now, Window);
        w.SumUsd.ShouldBe(0m, "a backfill of old events is not a loop");
        w.Add(now, 1m, now, Window);
        w.Add(now.AddMinutes(-15), 2m, now, Window); // late, filed at the latest time seen
        w.Evict(now.AddMinutes(6), Window);
        w.SumUsd.ShouldBe(3m);
        w.Evict(now.AddMinutes(21), Window);
        w.SumUsd.ShouldBe(0m);
    }
}
