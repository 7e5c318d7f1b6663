using Warden.Protocol;

namespace Warden.Hosting;

/// <summary>How a worker's death maps to an outcome: classified from facts, never guessed.</summary>
internal static class WorkerExitClassifier
{
    private const int SignalBase = 128;
    private const int SigAbrt = 6, SigKill = 9, SigSegv = 11, SigSys = 31;

    // V8 prints one of these on stderr before it aborts the process on an allocation it cannot satisfy.
    private static readonly string[] FatalOutOfMemoryMarkers =
    [
        "Fatal JavaScript out of memory",
        "Fatal process out of memory",
        "JavaScript heap out of memory",
        "Fatal JavaScript invalid size error",
    ];

    public static (OutcomeStatus Status, LimitKind? Limit, string Message) Classify(int exitCode, string stderrTail)
    {
        // The worker ended itself because a limit tripped and the engine would not stop.
        switch (exitCode)
        {
            case WorkerExitCodes.CpuLimit:
                return (OutcomeStatus.Timeout, LimitKind.Cpu, "CPU time limit exceeded; the script could not be interrupted, so its worker was stopped");
            case WorkerExitCodes.WallLimit:
                return (OutcomeStatus.Timeout, LimitKind.Wall, "Time limit exceeded; the script could not be interrupted, so its worker was stopped");
            case WorkerExitCodes.MemoryLimit:
                return (OutcomeStatus.MemoryLimit, LimitKind.Process, "The worker's memory grew past this execution's budget and the script could not be interrupted, so its worker was stopped");
            case WorkerExitCodes.ConsoleLimit:
                return (OutcomeStatus.OutputLimit, LimitKind.Console, "Console output passed its limit and the script could not be interrupted, so its worker was stopped");
        }
        if (FatalOutOfMemoryMarkers.Any(m => stderrTail.Contains(m, StringComparison.Ordinal)))
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
