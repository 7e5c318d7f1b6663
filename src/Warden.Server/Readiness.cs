using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Warden.Server;

/// <summary>
/// Warms the sandbox's spare workers after start; the service reports ready (<c>/readyz</c>) only once
/// a worker has really started — locked down, since a worker whose lockdown the host refuses never
/// reports ready — so an orchestrator sends no traffic to a pod whose workers cannot start. A spare
/// that failed to start does not count: readiness waits (checking every second) until one does.
/// Missing OS layers refuse earlier, at construction, unless the operator chose weaker isolation;
/// <see cref="Isolation"/> says which layers are active either way.
/// </summary>
internal sealed class Readiness(Sandbox sandbox, SandboxOptions options, ILogger<Sandbox> logger) : BackgroundService
{
    private volatile bool _ready;

    public bool IsReady => _ready;

    /// <summary>"every OS layer active", or which are missing (possible only under BestEffort/Disabled).</summary>
    public string Isolation { get; } = Describe(Sandbox.ProbeIsolation());

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await sandbox.WarmUpAsync().WaitAsync(stoppingToken).ConfigureAwait(false);
            if (options.SpareWorkers > 0)
            {
                // WarmUpAsync also returns when a spare failed to start; the pool retries spares on
                // its own timer, and a request starts one on demand.
                while (sandbox.Statistics.WorkersStarted == 0)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
                }
            }
            _ready = true;
            ServerLog.Ready(logger, Isolation);
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
