using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Warden.Diagnostics;

/// <summary>
/// <c>warden-ready</c>: a worker has really started — locked down, since a worker whose lockdown the host refuses
/// never reaches ready — and workers still start: when the last start failed and none has succeeded since, the
/// sandbox is not ready (every execution that needs a new worker would fail), and it is ready again as soon as one
/// starts. With no spare workers configured nothing starts before the first execution: ready until a start fails.
/// The data carries the worker counts and the OS-isolation report, so a probe's output says which layers workers get.
/// </summary>
internal sealed class WardenReadyHealthCheck(Sandbox sandbox) : IHealthCheck
{
    private const string IsolationKey = Microsoft.Extensions.DependencyInjection.WardenHealthCheckBuilderExtensions.IsolationDataKey;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var failure = context.Registration.FailureStatus;
        if (sandbox.IsDisposed)
        {
            return Task.FromResult(new HealthCheckResult(failure, "The sandbox was disposed."));
        }
        var stats = sandbox.Statistics;
        var data = Data(stats);
        HealthCheckResult result;
        if (stats.LastWorkerStartFailed is { } failed && (stats.LastWorkerStarted is not { } started || started < failed))
        {
            result = new HealthCheckResult(failure, "The last worker start failed (" + Time(failed) + ") and no worker has started since.", data: data);
        }
        else if (stats.WorkersStarted == 0)
        {
            result = sandbox.SpareWorkers == 0
                ? HealthCheckResult.Healthy("No spare workers are kept, so none starts before the first execution; none has failed to start.", data)
                : new HealthCheckResult(failure, "No worker has started yet.", data: data);
        }
        else
        {
            result = HealthCheckResult.Healthy("A locked-down worker started (" + Time(stats.LastWorkerStarted!.Value) + ").", data);
        }
        return Task.FromResult(result);
    }

    private static Dictionary<string, object> Data(SandboxStatistics stats)
    {
        var report = Sandbox.ProbeIsolation();
        var data = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            [IsolationKey] = report.AllActive ? "every OS layer active" : "OS layers missing: " + string.Join(", ", report.Missing.Select(l => l.Name)),
            ["workers_started"] = stats.WorkersStarted,
            ["worker_start_failures"] = stats.WorkerStartFailures,
            ["workers_busy"] = stats.BusyWorkers,
            ["workers_idle"] = stats.IdleWorkers,
            ["executions_queued"] = stats.QueuedExecutions,
        };
        if (stats.LastWorkerStarted is { } started)
        {
            data["last_worker_started"] = Time(started);
        }
        if (stats.LastWorkerStartFailed is { } failed)
        {
            data["last_worker_start_failed"] = Time(failed);
        }
        foreach (var layer in report.Layers)
        {
            data["isolation." + layer.Name] = (layer.Active ? "active: " : "missing: ") + layer.Detail;
        }
        return data;
    }

    private static string Time(DateTimeOffset time) => time.ToString("O", CultureInfo.InvariantCulture);
}
