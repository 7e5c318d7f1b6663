using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Warden.Server;

/// <summary>
/// Warms the sandbox's spare workers after start, and is the <c>warden-warm-up</c> health check (tag <c>ready</c>):
/// <c>/readyz</c> waits for the warm-up, then for the library's <c>warden-ready</c> check (a locked-down worker really
/// started, and workers still start) — so an orchestrator sends no traffic to a pod whose workers cannot start, and
/// takes it out again when they stop starting. Missing OS layers refuse earlier, at construction, unless the operator
/// chose weaker isolation; <c>warden-ready</c>'s data says which layers are active either way.
/// </summary>
internal sealed class Readiness(Sandbox sandbox, SandboxOptions options, ILogger<Sandbox> logger) : BackgroundService, IHealthCheck
{
    public const string CheckName = "warden-warm-up";

    private volatile bool _warmedUp;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_warmedUp ? HealthCheckResult.Healthy("The spare workers were warmed.")
            : new HealthCheckResult(context.Registration.FailureStatus, "The spare workers are still starting."));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            // WarmUpAsync also returns when a spare failed to start (warden-ready then says so); the pool retries
            // spares on its own timer, and a request starts one on demand.
            await sandbox.WarmUpAsync().WaitAsync(stoppingToken).ConfigureAwait(false);
            _warmedUp = true;
            if (options.SpareWorkers > 0)
            {
                while (sandbox.Statistics.WorkersStarted == 0)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
                }
            }
            ServerLog.Ready(logger, Describe(Sandbox.ProbeIsolation()));
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            ServerLog.WarmUpFailed(logger, e.Message);
        }
    }

    private static string Describe(IsolationReport report) =>
        report.AllActive ? "every OS layer active" : "OS layers missing: " + string.Join(", ", report.Missing.Select(l => l.Name));
}
