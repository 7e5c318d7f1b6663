using Warden.Protocol;

namespace Warden.Hosting;

/// <summary>How a worker's death maps to an outcome: classified from facts, never guessed.</summary>
internal static class WorkerExitClassifier
{
    private const int SignalBase = 128;
    private const int SigAbrt = 6, SigKill = 9, SigSegv = 11, SigSys = 31;

    /// <summary>Through .NET and bubblewrap a signal arrives as 128 + n: SIGSYS is the seccomp filter's kill.</summary>
    public static bool IsSeccompKill(int exitCode) => exitCode == SignalBase + SigSys;

    /// <summary>The engine named a fatal out-of-memory on stderr, in one of the texts it listed in <c>ready</c> (the worker's word only: see <see cref="Classify"/>).</summary>
    public static bool IsEngineOutOfMemoryReport(string stderrTail, IReadOnlyCollection<string> outOfMemoryMarkers) =>
        outOfMemoryMarkers.Any(m => stderrTail.Contains(m, StringComparison.Ordinal));

    /// <param name="exitCode">The exit code the host saw (128 + n for signal n).</param>
    /// <param name="stderrTail">The end of the worker's stderr (an engine names a fatal out-of-memory there).</param>
    /// <param name="oomKilled">The worker's cgroup counted an OOM kill during the execution.</param>
    /// <param name="memoryNearBudget">The host's own measure (the cgroup's peak): did the worker's memory
    /// grow near the execution's budget (<see cref="WireMemoryRule.NearBudgetBytes"/> of the worker's engine)? Null when the host
    /// has no measure of its own (no cgroup): the engine's report is then taken as it is.</param>
    /// <param name="outOfMemoryMarkers">The texts the worker's engine prints when it aborts for lack of memory (from <c>ready</c>).</param>
    public static (OutcomeStatus Status, LimitKind? Limit, string Message) Classify(int exitCode, string stderrTail, bool oomKilled = false,
        bool? memoryNearBudget = null, IReadOnlyCollection<string>? outOfMemoryMarkers = null)
    {
        if (oomKilled)
        {
            // The kernel's counter, not a guess from the exit code: the cgroup's memory cap was hit.
            return (OutcomeStatus.MemoryLimit, LimitKind.Process,
                "The worker's memory reached its OS cap (memory outside the engine's accounting included); the worker was stopped");
        }
        if (IsSeccompKill(exitCode))
        {
            return (OutcomeStatus.InternalError, null, "The worker made a system call outside its seccomp allowlist and was killed (logged as a security event)");
        }
        // The worker ended itself because a limit tripped and the engine would not stop.
        switch (exitCode)
        {
            case WorkerExitCodes.CpuLimit:
                return (OutcomeStatus.Timeout, LimitKind.Cpu, "CPU time limit exceeded; the script could not be interrupted, so its worker was stopped");
            case WorkerExitCodes.WallLimit:
                return (OutcomeStatus.Timeout, LimitKind.Wall, "Time limit exceeded; the script could not be interrupted, so its worker was stopped");
            case WorkerExitCodes.MemoryLimit when memoryNearBudget == false:
                // The watchdog ends the worker with this code only after the worker grew past the
                // budget; the host's own measure says it did not: a forged exit code.
                return (OutcomeStatus.InternalError, null,
                    "The worker ended itself naming the memory limit, but its memory stayed far below the execution's budget");
            case WorkerExitCodes.MemoryLimit:
                return (OutcomeStatus.MemoryLimit, LimitKind.Process, "The worker's memory grew past this execution's budget and the script could not be interrupted, so its worker was stopped");
            case WorkerExitCodes.ConsoleLimit:
                return (OutcomeStatus.OutputLimit, LimitKind.Console, "Console output passed its limit and the script could not be interrupted, so its worker was stopped");
        }
        if (IsEngineOutOfMemoryReport(stderrTail, outOfMemoryMarkers ?? []) && memoryNearBudget == false)
        {
            // The text says "out of memory" but the host saw the memory stay far below the budget:
            // stderr is the worker's word, and a worker running native code of the attacker's can
            // print anything to pass a crash off as a limit. Not believed (logged as a security event).
            return (OutcomeStatus.InternalError, null,
                "The worker died reporting that the engine ran out of memory, but its memory stayed far below the execution's budget");
        }
        if (IsEngineOutOfMemoryReport(stderrTail, outOfMemoryMarkers ?? []))
        {
            // The script's own allocation outran V8's hard heap limit: V8 aborts rather than throws.
            return (OutcomeStatus.MemoryLimit, LimitKind.Heap,
                "The script allocated more memory than the engine can hold; the worker was stopped");
        }
        string how = exitCode > SignalBase && exitCode < SignalBase + 65
            ? $"signal {exitCode - SignalBase}{SignalName(exitCode - SignalBase)}"
            : $"exit code {exitCode}";
        return (OutcomeStatus.InternalError, null, $"The worker process died unexpectedly ({how})");
    }

    private static string SignalName(int signal) => signal switch
    {
        SigAbrt => " (SIGABRT)",
        SigKill => " (SIGKILL)",
        SigSegv => " (SIGSEGV)",
        SigSys => " (SIGSYS)",
        _ => "",
    };
}
