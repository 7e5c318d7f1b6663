using Microsoft.Extensions.Diagnostics.HealthChecks;
using Warden;
using Warden.Diagnostics;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Warden's health checks with ASP.NET Core's (or any) health-check service.</summary>
public static class WardenHealthCheckBuilderExtensions
{
    /// <summary>The liveness check's name; tagged <c>live</c>.</summary>
    public const string LiveCheckName = "warden-live";

    /// <summary>The readiness check's name; tagged <c>ready</c>.</summary>
    public const string ReadyCheckName = "warden-ready";

    /// <summary>
    /// The key of the ready check's data entry that sums up the OS isolation: <c>every OS layer active</c>, or
    /// <c>OS layers missing: </c> and their names. Each layer also has an entry <c>isolation.{layer}</c>
    /// (<c>active: …</c> or <c>missing: …</c>); the worker counts are <c>workers_started</c>,
    /// <c>worker_start_failures</c>, <c>workers_busy</c>, <c>workers_idle</c>, <c>executions_queued</c>.
    /// </summary>
    public const string IsolationDataKey = "isolation";

    /// <summary>
    /// Adds <c>warden-live</c> (tag <c>live</c>: the container's <see cref="Sandbox"/> resolves and is not disposed) and
    /// <c>warden-ready</c> (tag <c>ready</c>: a locked-down worker has really started, and the last worker start did not
    /// fail — it goes back to unhealthy when workers stop starting and comes back when one starts again). The ready
    /// check's data carries the OS-isolation report (<see cref="Sandbox.ProbeIsolation"/>) and the worker counts. Both
    /// resolve the <see cref="Sandbox"/> singleton from the container (<c>AddWarden</c> registers it).
    /// </summary>
    public static IHealthChecksBuilder AddWardenHealthChecks(this IHealthChecksBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Add(new HealthCheckRegistration(LiveCheckName, sp => new WardenLiveHealthCheck(sp.GetRequiredService<Sandbox>()),
            failureStatus: HealthStatus.Unhealthy, tags: ["live"]));
        builder.Add(new HealthCheckRegistration(ReadyCheckName, sp => new WardenReadyHealthCheck(sp.GetRequiredService<Sandbox>()),
            failureStatus: HealthStatus.Unhealthy, tags: ["ready"]));
        return builder;
    }
}
