using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Warden.Diagnostics;

/// <summary><c>warden-live</c>: the sandbox exists and is not disposed. Says nothing of workers (that is readiness).</summary>
internal sealed class WardenLiveHealthCheck(Sandbox sandbox) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(sandbox.IsDisposed
            ? new HealthCheckResult(context.Registration.FailureStatus, "The sandbox was disposed.")
            : HealthCheckResult.Healthy("The sandbox is up."));
}
