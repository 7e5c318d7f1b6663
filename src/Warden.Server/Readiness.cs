using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Warden.Server;

/// <summary>
/// Warms the sandbox's spare workers after start; the service reports ready (<c>/readyz</c>) only once
/// they are up, so an orchestrator sends no traffic to a pod whose workers cannot start (a missing
/// OS layer refuses earlier, at construction).
/// </summary>
internal sealed class Readiness(Sandbox sandbox, ILogger<Sandbox> logger) : BackgroundService
{
    private volatile bool _ready;

    public bool IsReady => _ready;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await sandbox.WarmUpAsync().WaitAsync(stoppingToken).ConfigureAwait(false);
            _ready = true;
            var report = Sandbox.ProbeIsolation();
            ServerLog.Ready(logger, report.AllActive ? "every layer active" : "missing " + string.Join(", ", report.Missing.Select(l => l.Name)));
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            ServerLog.WarmUpFailed(logger, e.Message);
        }
    }
}
