using Microsoft.Extensions.Logging;

namespace Warden.Hosting;

/// <summary>Starts real workers for a sandbox: its launch spec, its options' configure frame for the engine asked for.</summary>
internal sealed class EngineWorkerStarter(SandboxOptions options, WorkerLaunchSpec spec, ILogger logger) : IWorkerStarter<EngineWorker>
{
    public Task<EngineWorker> StartAsync(string engine, CancellationToken cancellationToken) =>
        EngineWorker.StartAsync(spec, WorkerMessages.Configure(options, spec, engine), options.WorkerStartTimeout, logger, cancellationToken);
}
