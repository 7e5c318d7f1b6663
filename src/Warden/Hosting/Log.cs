using Microsoft.Extensions.Logging;

namespace Warden.Hosting;

/// <summary>Every log line the host writes. Script source and input are never logged.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Worker {Pid} started in {ElapsedMs:F0} ms")]
    public static partial void WorkerStarted(ILogger logger, int pid, double elapsedMs);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "Worker {Pid} retired: {Reason}")]
    public static partial void WorkerRetired(ILogger logger, int pid, string reason);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Worker {Pid} died during an execution: {Reason}; its last stderr output: {StderrTail}")]
    public static partial void WorkerDied(ILogger logger, int pid, string reason, string stderrTail);

    /// <summary>A worker broke the protocol. Workers run attacker-influenced code, so this is treated as a possible compromise.</summary>
    [LoggerMessage(EventId = 4, Level = LogLevel.Error, Message = "SECURITY: worker {Pid} broke the protocol and was killed: {Violation}")]
    public static partial void ProtocolViolation(ILogger logger, int pid, string violation);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "Worker {Pid} killed at the hard deadline ({DeadlineMs} ms after start)")]
    public static partial void DeadlineKill(ILogger logger, int pid, int deadlineMs);

    [LoggerMessage(EventId = 6, Level = LogLevel.Error, Message = "Worker failed to start: {Reason}")]
    public static partial void WorkerStartFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 7, Level = LogLevel.Debug, Message = "Execution {ExecutionId} ended {Status} in {WallMs:F1} ms")]
    public static partial void ExecutionEnded(ILogger logger, string executionId, string status, double wallMs);

    /// <summary>The kernel killed a worker for a system call outside its seccomp allowlist: native code in it tried something no worker does.</summary>
    [LoggerMessage(EventId = 8, Level = LogLevel.Error, Message = "SECURITY: worker {Pid} was killed by its seccomp filter (a forbidden system call); its last stderr output: {StderrTail}")]
    public static partial void SeccompViolation(ILogger logger, int pid, string stderrTail);

    [LoggerMessage(EventId = 9, Level = LogLevel.Error, Message = "Worker {Pid}: its cgroup could not be written ({Reason}); the worker is replaced")]
    public static partial void CgroupWriteFailed(ILogger logger, int pid, string reason);

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "OS isolation layer '{Layer}' is not active ({Detail}); running with weaker isolation because OsIsolation is {Mode}")]
    public static partial void IsolationLayerMissing(ILogger logger, string layer, string detail, OsIsolationMode mode);

    /// <summary>
    /// The worker's stderr claimed an engine out-of-memory abort while the host's own measure (its
    /// cgroup's peak) shows the memory far below the budget: a crash that a compromised worker may be
    /// dressing up as a limit. Reported as internal_error.
    /// </summary>
    [LoggerMessage(EventId = 11, Level = LogLevel.Error, Message = "SECURITY: worker {Pid} died reporting an out-of-memory (engine abort or the memory-limit exit code), but its memory grew by only {GrowthBytes} bytes for a {MemoryMb} MB budget; not believed: {StderrTail}")]
    public static partial void ImplausibleOutOfMemory(ILogger logger, int pid, long growthBytes, int memoryMb, string stderrTail);

    /// <summary>
    /// A worker was found dead, or already killed, when the pool came to retire it (between
    /// executions, or right after one returned its result): nothing reported it on an execution's path.
    /// </summary>
    [LoggerMessage(EventId = 12, Level = LogLevel.Warning, Message = "Worker {Pid} was no longer usable when retired (exit code {ExitCode}, killed by the host for: {KillReason}); its last stderr output: {StderrTail}")]
    public static partial void WorkerFoundDead(ILogger logger, int pid, int exitCode, string killReason, string stderrTail);

    /// <summary>A host function failed with an exception other than HostFunctionException: the script saw only a generic message.</summary>
    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "Execution {ExecutionId}: host function {Name} failed")]
    public static partial void HostFunctionFailed(ILogger logger, string executionId, string name, Exception exception);
}
