namespace Ops.Modules.Usage.Reading;

/// <summary>UTC calendar arithmetic shared by budgets, cards and metrics.</summary>
internal static class UtcPeriods
{
    public static DateOnly Day(DateTimeOffset at) => DateOnly.FromDateTime(at.UtcDateTime);

    public static DateOnly MonthStart(DateOnly day) => new(day.Year, day.Month, 1);

    public static int DaysInMonth(DateOnly day) => DateTime.DaysInMonth(day.Year, day.Month);

    /// <summary>The start of the UTC hour <paramref name="at"/> falls in.</summary>
    public static DateTimeOffset HourStart(DateTimeOffset at)
    {
        var utc = at.ToUniversalTime();
        return new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero);
    }

    public static DateTimeOffset StartOf(DateOnly day) => new(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);

    /// <summary>
    /// The months [<paramref name="first"/>, <paramref name="last"/>] touches, each with the bits of its days in the
    /// range (bit d−1 = day d): the masks <c>usage.user_months.active_days</c> is tested against.
    /// </summary>
    public static (DateOnly[] Months, int[] Masks) DayMasks(DateOnly first, DateOnly last)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(first, last);
        var months = new List<DateOnly>();
        var masks = new List<int>();
        for (var month = MonthStart(first); month <= last; month = month.AddMonths(1))
        {
            var from = first > month ? first.Day : 1;
            var to = last < month.AddMonths(1) ? last.Day : DaysInMonth(month);
            months.Add(month);
            masks.Add((int)(((1L << to) - 1) & ~((1L << (from - 1)) - 1)));
        }

        return ([.. months], [.. masks]);
    }
}
