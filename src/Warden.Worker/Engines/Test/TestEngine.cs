using Warden.Protocol;

namespace Warden.Worker.Engines.Test;

/// <summary>
/// A fake engine behind the real seam, inside the real worker: it interprets a submission as lines of
/// commands (<see cref="TestScript"/>) instead of JavaScript, so the seam (start, interrupt, memory,
/// console, result, failure) can be exercised end to end through library, CLI and HTTP with a second
/// engine. Offered to submissions only when the host's tests enable it.
/// </summary>
internal sealed class TestEngine : IEngine
{
    /// <summary>What the test engine prints on stderr when the process runs out of memory, before it ends itself.</summary>
    public const string OutOfMemoryMarker = "test engine out of memory";

    /// <summary>
    /// Its memory rule: a cgroup cap of N + 32 MB over the worker's usage at the start, and an
    /// out-of-memory death believed after N/2 (at most 512 MB) of growth. The cap leaves the resident
    /// trip (<see cref="ResidentTripBytes"/>) room for one sampling interval of <c>allocate</c>'s growth.
    /// </summary>
    private static readonly WireEngine TestDescription = new(EngineNames.Test,
        typeof(TestEngine).Assembly.GetName().Version?.ToString() ?? "unknown",
        new WireMemoryRule(GrowthCapPerBudgetMb: 1.0, GrowthCapFixedMb: 32, NearBudgetFraction: 0.5, NearBudgetCeilingMb: 512),
        [OutOfMemoryMarker]);

    /// <summary>Room over the budget for the runtime's own churn during an execution (GC, frames to the host).</summary>
    private const long RuntimeAllowanceBytes = 4L << 20;

    public WireEngine Description => TestDescription;

    public IReadOnlyList<(string Code, bool Module)> WarmUpSubmissions { get; } =
    [
        ("log warm\nresult {\"a\":[1,\"x\"]}\ninput\nallocate 1", false),
        ("throw warm", false),
        ("result {", false),
        ("nonsense", false),
        ("result 1", true),
    ];

    /// <summary>Not derived for this engine (it exists for tests only): the widest grant, which every engine had before.</summary>
    public Lockdown.EngineSyscalls SyscallsAfterLockdown => Lockdown.EngineSyscalls.ExecutableMemory | Lockdown.EngineSyscalls.ReadOnlyOpens;

    public long ResidentTripBytes(int memoryMb) => MemoryBudgets.BudgetBytes(memoryMb) + RuntimeAllowanceBytes;

    public IEngineInstance CreateInstance(int memoryMb, ExecutionRecorder recorder) => new TestEngineInstance(recorder);

    public IWarmIsolate CreateWarmIsolate(int memoryMb, ExecutionRecorder recorder) => new TestWarmIsolate(recorder);
}
