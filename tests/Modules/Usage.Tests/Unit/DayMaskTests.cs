using Ops.Modules.Usage.Reading;
using Shouldly;
using Xunit;

namespace Ops.Modules.Usage.Tests.Unit;

/// <summary>The month masks long-window active-user counts test <c>user_months.active_days</c> against.</summary>
public sealed class DayMaskTests
{
    [Fact]
    public void A_range_inside_one_month_sets_its_days_only()
    {
        var (months, masks) = UtcPeriods.DayMasks(new DateOnly(2026, 5, 3), new DateOnly(2026, 5, 5));
        months.ShouldBe([new DateOnly(2026, 5, 1)]);
        masks.ShouldBe([0b11100]);
    }

    [Fact]
    public void A_range_across_months_covers_the_tail_of_the_first_and_the_head_of_the_last()
    {
        var (months, masks) = UtcPeriods.DayMasks(new DateOnly(2026, 1, 30), new DateOnly(2026, 3, 2));
        months.ShouldBe([new DateOnly(2026, 1, 1), new DateOnly(2026, 2, 1), new DateOnly(2026, 3, 1)]);
        masks.ShouldBe([(1 << 29) | (1 << 30), (1 << 28) - 1, 0b11], "Jan 30–31, all 28 days of February, Mar 1–2");
    }

    [Fact]
    public void A_whole_31_day_month_is_31_bits_and_still_positive()
    {
        var (_, masks) = UtcPeriods.DayMasks(new DateOnly(2026, 12, 1), new DateOnly(2026, 12, 31));
        masks.ShouldBe([int.MaxValue]);
    }

    [Fact]
    public void A_reversed_range_is_refused() =>
        Should.Throw<ArgumentOutOfRangeException>(() => UtcPeriods.DayMasks(new DateOnly(2026, 5, 2), new DateOnly(2026, 5, 1)));
}
