namespace Warden;

/// <summary>A snapshot of a <see cref="Sandbox"/>'s worker pool, for metrics.</summary>
/// <param name="WorkersStarted">Workers that reached ready since the sandbox was made.</param>
/// <param name="WorkersRetired">Workers killed, by reason: <c>limit_or_failure</c>, <c>died</c>, <c>execution_count</c>, <c>lifetime</c>, <c>memory_at_rest</c>, <c>other_key</c> (its slot went to another isolation key or engine), <c>disposed</c>.</param>
/// <param name="QueuedExecutions">Executions waiting for a worker now.</param>
/// <param name="BusyWorkers">Workers running an execution now.</param>
/// <param name="IdleWorkers">Started workers waiting for an execution now.</param>
public sealed record SandboxStatistics(
    long WorkersStarted,
    IReadOnlyDictionary<string, long> WorkersRetired,
    int QueuedExecutions,
    int BusyWorkers,
    int IdleWorkers)
{
    /// <summary>Warm isolates made (<see cref="IsolationUnit.Context"/>): each one's first execution.</summary>
    public long WarmIsolatesMade { get; init; }

    /// <summary>Executions that ran in a fresh context of a warm isolate an earlier execution of the same key had used.</summary>
    public long WarmIsolateReuses { get; init; }

    /// <summary>Worker starts that failed since the sandbox was made (a spare or one started for an execution).</summary>
    public long WorkerStartFailures { get; init; }

    /// <summary>When a worker last reached ready (locked down: a worker whose lockdown fails never does); null before the first.</summary>
    public DateTimeOffset? LastWorkerStarted { get; init; }

    /// <summary>When a worker start last failed; null if none has. Later than <see cref="LastWorkerStarted"/>: workers are not starting now.</summary>
    public DateTimeOffset? LastWorkerStartFailed { get; init; }
}
