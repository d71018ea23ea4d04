using System;
using MediaBrowser.Model.Tasks;

namespace Jellyscale.Plugin.Compat;

/// <summary>Default task triggers for Jellyfin 10.11, where the trigger type became an enum.</summary>
internal static class TaskTriggers
{
    /// <summary>A trigger that runs every <paramref name="interval"/>.</summary>
    /// <param name="interval">The interval.</param>
    /// <returns>The trigger.</returns>
    public static TaskTriggerInfo Interval(TimeSpan interval)
        => new() { Type = TaskTriggerInfoType.IntervalTrigger, IntervalTicks = interval.Ticks };

    /// <summary>A trigger that runs daily at <paramref name="timeOfDay"/>.</summary>
    /// <param name="timeOfDay">The time of day.</param>
    /// <returns>The trigger.</returns>
    public static TaskTriggerInfo Daily(TimeSpan timeOfDay)
        => new() { Type = TaskTriggerInfoType.DailyTrigger, TimeOfDayTicks = timeOfDay.Ticks };
}
