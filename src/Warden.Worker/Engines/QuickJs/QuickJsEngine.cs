using Warden.Protocol;

namespace Warden.Worker.Engines.QuickJs;

/// <summary>
/// QuickJS-NG compiled to WebAssembly, run by Wasmtime: a fresh VM in a fresh store per execution
/// (<see cref="QuickJsInstance"/>), its memory capped exactly by the store's limit on linear memory, its cost
/// counted in deterministic fuel, its time stopped by Wasmtime's epochs. Loads no V8.
/// </summary>
internal sealed class QuickJsEngine : IEngine
{
    /// <summary>
    /// Its memory rule: a cgroup cap of N + 64 MB over the worker's usage before the execution's frame arrives, and
    /// an out-of-memory death believed after N/2 (at most 512 MB) of growth. The guest's memory cannot pass N, and no
    /// bomb grows the worker by more than N + 32 MB (Engines/QuickJsEngineTests); the rest is for the frame itself:
    /// a 16 MB input arrives as 16 MB of frame and a 32 MB .NET string before the guest gets its copy (measured:
    /// with N + 32 MB a 15 MB input at a 16 MB budget was killed by the kernel instead of ending in the guest's
    /// memory_limit).
    /// </summary>
    private static readonly WireEngine QuickJsDescription = new(EngineNames.QuickJs,
        QuickJsModule.PackageVersion + ", Wasmtime " + (typeof(Wasmtime.Engine).Assembly.GetName().Version?.ToString(3) ?? "unknown"),
        new WireMemoryRule(GrowthCapPerBudgetMb: 1.0, GrowthCapFixedMb: 64, NearBudgetFraction: 0.5, NearBudgetCeilingMb: 512),
        // Neither QuickJS nor Wasmtime aborts the process when the guest runs out of memory: Rust's own
        // allocation failure is the one fatal text.
        ["memory allocation of"]);

    /// <summary>Room over the budget for the store's and the runtime's own churn (frames to the host, strings read from the guest).</summary>
    private const long RuntimeAllowanceBytes = 24L << 20;

    public WireEngine Description => QuickJsDescription;

    public IReadOnlyList<(string Code, bool Module)> WarmUpSubmissions => JavaScriptWarmUp.Submissions;

    /// <summary>
    /// Nothing: Wasmtime compiled the module and the linker's host functions before the lockdown, and an
    /// instance per execution maps only data (traced: no executable mapping and no open after lockdown).
    /// </summary>
    public Lockdown.EngineSyscalls SyscallsAfterLockdown => Lockdown.EngineSyscalls.None;

    public long ResidentTripBytes(int memoryMb) => MemoryBudgets.BudgetBytes(memoryMb) + RuntimeAllowanceBytes;

    public IEngineInstance CreateInstance(int memoryMb, ExecutionRecorder recorder) => QuickJsInstance.Create(memoryMb, recorder);

    /// <summary>QuickJS runs a fresh VM per execution only; the host refuses isolation unit Context for it.</summary>
    public IWarmIsolate CreateWarmIsolate(int memoryMb, ExecutionRecorder recorder) =>
        throw new NotSupportedException("The quickjs engine has no warm mode.");
}
