using Coravel.Scheduling.Schedule.Interfaces;

namespace Ops.Modules.Shared.Scheduling;

/// <summary>A module's recurring jobs. Registered in DI by the module; the host hands them to Coravel.</summary>
public interface IModuleSchedule
{
    void Schedule(IScheduler scheduler);
}
