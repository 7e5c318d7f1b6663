using Warden.Protocol;

namespace Warden.Worker.Engines;

/// <summary>
/// One JavaScript engine as the worker uses it: what the host is told about it, how much the worker may
/// grow while one of its executions runs, and a fresh <see cref="IEngineInstance"/> per execution.
/// Everything engine-specific (its library, its memory caps, how it is interrupted) stays behind this
/// and <see cref="IEngineInstance"/>; the script thread, the watchdog and the event loop see only these.
/// An engine is added by writing one and naming it in <see cref="EngineRegistry"/>.
/// </summary>
/// <remarks>
/// The cut follows workerd's <c>IsolateLimitEnforcer</c> and wasmtime's <c>ResourceLimiter</c>/<c>StoreLimits</c>:
/// the engine enforces the memory cap it can enforce exactly itself (fixed when an instance is made, as
/// V8's heap constraints or a store's limits are) and reports reaching it as
/// <see cref="EngineAbort.MemoryLimit"/>; time, console and the process's resident memory are watched
/// outside the engine (<see cref="Watchdog"/>), which only ever asks an instance to stop.
/// </remarks>
internal interface IEngine
{
    /// <summary>What the host learns about this engine in <c>ready</c>: its name, version, memory rule and
    /// how its fatal out-of-memory shows on stderr. Must pass the host's checks (<see cref="WireMemoryRule.Validate"/>).</summary>
    WireEngine Description { get; }

    /// <summary>
    /// Submissions run once before <c>ready</c>, with all output discarded: every code path the worker
    /// will take must have run before the lockdown (the seccomp filter refuses what first use would
    /// need, e.g. opening the random source) and JIT compilation is paid for there, not in a user's time.
    /// </summary>
    IReadOnlyList<(string Code, bool Module)> WarmUpSubmissions { get; }

    /// <summary>
    /// What this engine needs from the kernel after the lockdown beyond the .NET runtime's own calls: its
    /// worker's seccomp filter grants exactly this (derived by tracing its worker: tools/seccomp/README.md).
    /// </summary>
    Lockdown.EngineSyscalls SyscallsAfterLockdown { get; }

    /// <summary>
    /// The worker's resident growth during one execution at which the watchdog stops it
    /// (<c>memory_limit</c>, limit <c>process</c>). It must stay under the cgroup cap that
    /// <see cref="Description"/>'s rule gives the host, with room for one sampling interval of growth,
    /// so that the trip (which keeps the worker) comes before the kernel's kill.
    /// </summary>
    long ResidentTripBytes(int memoryMb);

    /// <summary>
    /// A fresh instance for one execution with a budget of <paramref name="memoryMb"/>, reporting into
    /// <paramref name="recorder"/>. May be called on any thread (instances are prepared ahead); nothing
    /// of one instance may be reachable from another.
    /// </summary>
    IEngineInstance CreateInstance(int memoryMb, ExecutionRecorder recorder);

    /// <summary>
    /// An isolate to keep warm for one isolation key's executions with a budget of <paramref name="memoryMb"/>,
    /// each in a fresh context (<see cref="IWarmIsolate.CreateContext"/>) reporting into <paramref name="recorder"/>.
    /// Script thread only. Nothing one context made may be reachable from another.
    /// </summary>
    IWarmIsolate CreateWarmIsolate(int memoryMb, ExecutionRecorder recorder);
}
