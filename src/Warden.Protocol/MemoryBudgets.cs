namespace Warden.Protocol;

/// <summary>
/// How one execution's memory budget (<c>memoryMb</c>, "N" below) is enforced, layer by layer. One
/// budget covers the heap, ArrayBuffers and what the engine keeps outside its heap together; the
/// layers differ only in how exactly and how early they see it. Shared by host and worker so that
/// they cannot drift apart; docs/limits.md publishes the table. The rule is the V8 engine's (an
/// engine whose limits are sampled needs the resident check and the cgroup close to the budget; an
/// engine with exact limits would need neither above its budget).
/// </summary>
/// <remarks>
/// Measured at N = 128 (worker growth over its idle resident size) before this rule, with the heap
/// and ArrayBuffers each allowed N and the backstops at 2N + 64 MB: <c>Array.fill</c> bombs +337 MB,
/// Intl objects +319 MB, a <c>JSON.stringify</c> loop +277 MB. The rule below keeps every shape
/// at or under <see cref="WorkerGrowthCapBytes"/> = 1.25 N + 64 MB, which the kernel enforces.
/// </remarks>
internal static class MemoryBudgets
{
    private const long Mb = 1L << 20;

    /// <summary>
    /// Room for the engine's own working memory over the script's N: the young generation, compiled
    /// code, GC bookkeeping, allocator slack. 32 MB + N/8 (a 128 MB budget gets 48 MB).
    /// </summary>
    private static long EngineAllowanceBytes(int memoryMb) => 32 * Mb + BudgetBytes(memoryMb) / 8;

    /// <summary>The budget itself, N, in bytes: what the heap limit, the ArrayBuffer allocator and the
    /// prelude's count of resizable buffers each hold a script to.</summary>
    public static long BudgetBytes(int memoryMb) => memoryMb * Mb;

    /// <summary>
    /// The watchdog's trip point for the worker's resident growth since the execution started (sampled
    /// every 5 ms from /proc/self/statm): N + the engine allowance. It is the layer that sees the heap,
    /// ArrayBuffers and off-heap memory (Intl, JSON.stringify buffers, flattened strings) <em>together</em>,
    /// so it is what makes N one budget rather than one per kind. A trip interrupts the script:
    /// <c>memory_limit</c>, limit <c>process</c>, and the worker is kept when the interrupt lands.
    /// </summary>
    public static long ResidentTripBytes(int memoryMb) => BudgetBytes(memoryMb) + EngineAllowanceBytes(memoryMb);

    /// <summary>
    /// V8's hard heap limit (<c>MaxOldSpaceSize</c>, whole MB), at which V8 aborts the process: at the
    /// resident trip point, so that the heap alone can never carry the worker past the cgroup cap, while
    /// the sampled soft limit (N) and the resident check (which interrupt, keeping the worker) get the
    /// first chance. Only growth inside a single uninterruptible built-in (an <c>Array.fill</c> that
    /// grows a dictionary) reaches it.
    /// </summary>
    public static int HardHeapLimitMb(int memoryMb) => (int)(ResidentTripBytes(memoryMb) / Mb);

    /// <summary>
    /// V8's rule for the host (told in <c>ready</c>): the cgroup cap is 1.25 N + 64 MB over the worker's
    /// usage when the execution starts; the margin over the resident trip point (N/8 + 32 MB) absorbs what
    /// one 5 ms sampling interval can add before the trip is seen. An out-of-memory abort is believed after
    /// N/2 of growth, at most 512 MB: V8's "invalid size" aborts end a script at an engine object-size
    /// limit rather than at the budget (measured at 4 GB: <c>new Array(2**28).fill(1.5)</c> aborted V8 with
    /// its element dictionary at its largest size after the worker grew by 1.3 GB).
    /// </summary>
    public static WireMemoryRule V8Rule { get; } = new(GrowthCapPerBudgetMb: 1.25, GrowthCapFixedMb: 64, NearBudgetFraction: 0.5, NearBudgetCeilingMb: 512);



    /// <summary>
    /// The cap while a worker starts and warms up (no execution yet, and its engine's rule not yet told):
    /// the runtime's own 1 GB plus the largest growth cap any engine's rule may claim (2 N + 256 MB).
    /// </summary>
    public static long StartupCapBytes(int preparedMemoryMb) => 1024 * Mb + WireMemoryRule.LargestWorkerGrowthCapBytes(preparedMemoryMb);
}
