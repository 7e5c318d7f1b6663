namespace Warden.Hosting;

/// <summary>
/// When the pool replaces a worker: a function of the worker's facts, how its execution ended, the
/// sandbox's options and the time, with nothing of the pool's own state. The only other retirement
/// is the pool's choice to give an idle worker's slot to another key
/// (<see cref="RetirementReason.OtherKey"/>) and disposal.
/// </summary>
internal static class RetirementPolicy
{
    /// <summary>
    /// When a worker comes back from an execution. <paramref name="endedWith"/> is null when the
    /// execution ended without an outcome (cancelled, or the host failed): its worker is retired.
    /// <paramref name="atEngineMemoryCap"/>: the execution ended at its engine's own memory cap (limit <c>heap</c>).
    /// </summary>
    public static RetirementReason? AfterExecution(IPooledWorker worker, OutcomeStatus? endedWith, SandboxOptions options, DateTime now,
        bool atEngineMemoryCap = false) =>
        endedWith is not { } status || !(LeavesWorkerClean(status) || LeavesWorkerCleanAtItsMemoryCap(worker, status, atEngineMemoryCap))
            ? RetirementReason.LimitOrFailure
            : OnReturn(worker, options, now);

    /// <summary>When a worker comes back without having run anything (its grant was cancelled), or after a clean execution.</summary>
    public static RetirementReason? OnReturn(IPooledWorker worker, SandboxOptions options, DateTime now) =>
        !worker.IsUsable ? RetirementReason.Died
        : worker.Executions >= options.MaxExecutionsPerWorker ? RetirementReason.ExecutionCount
        : now - worker.StartedAt >= options.MaxWorkerLifetime ? RetirementReason.Lifetime
        : null;

    /// <summary>
    /// An idle worker about to be handed out (or on the pool's timer): idle workers age and may die.
    /// Its memory at rest is judged here, not when it is returned: it tears down a large isolate just
    /// after sending its result.
    /// </summary>
    public static RetirementReason? WhileIdle(IPooledWorker worker, SandboxOptions options, DateTime now) =>
        !worker.IsUsable ? RetirementReason.Died
        : worker.HasOutgrownItsBaseline ? RetirementReason.MemoryAtRest
        : now - worker.StartedAt >= options.MaxWorkerLifetime ? RetirementReason.Lifetime
        : null;

    /// <summary>
    /// A timeout the worker stopped itself (interrupt, isolate discarded; a worker that had to end
    /// itself or be killed is dead and retired anyway) leaves nothing behind in the process. Retiring
    /// the worker for it would let any tenant make the host pay a worker start-up (~0.8 s of CPU) for
    /// each 1 ms timeout: an 800-fold amplification. Every other limit and failure retires it.
    /// </summary>
    internal static bool LeavesWorkerClean(OutcomeStatus status) =>
        status is OutcomeStatus.Ok or OutcomeStatus.ScriptError or OutcomeStatus.Timeout;

    /// <summary>
    /// The same reasoning for a memory limit on an engine whose cap drops everything with the execution
    /// (<see cref="EngineCatalog.LeavesWorkerCleanAtItsMemoryCap"/>): a quickjs memory bomb takes ~0.1 s, a worker
    /// start-up with its module compilation ~1 s of CPU. The memory-at-rest check (<see cref="WhileIdle"/>) still
    /// retires a worker that kept anything.
    /// </summary>
    private static bool LeavesWorkerCleanAtItsMemoryCap(IPooledWorker worker, OutcomeStatus status, bool atEngineMemoryCap) =>
        status == OutcomeStatus.MemoryLimit && atEngineMemoryCap && EngineCatalog.LeavesWorkerCleanAtItsMemoryCap(worker.EngineName);
}
