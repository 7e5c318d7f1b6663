namespace Warden;

/// <summary>A snapshot of a <see cref="Sandbox"/>'s worker pool, for metrics.</summary>
/// <param name="WorkersStarted">Workers that reached ready since the sandbox was made.</param>
/// <param name="WorkersRetired">Workers killed and replaced, by reason (a limit or failure, died, lifetime, execution count, memory at rest, another key, disposal).</param>
/// <param name="QueuedExecutions">Executions waiting for a worker now.</param>
/// <param name="BusyWorkers">Workers running an execution now.</param>
/// <param name="IdleWorkers">Started workers waiting for an execution now.</param>
public sealed record SandboxStatistics(
    long WorkersStarted,
    IReadOnlyDictionary<string, long> WorkersRetired,
    int QueuedExecutions,
    int BusyWorkers,
    int IdleWorkers);
