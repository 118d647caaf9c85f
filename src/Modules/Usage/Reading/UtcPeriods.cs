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
}
