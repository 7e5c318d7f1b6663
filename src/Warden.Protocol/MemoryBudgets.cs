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
    private static long EngineAllowanceBytes(int memoryMb) => 32 * Mb + memoryMb * Mb / 8;

    /// <summary>
    /// The watchdog's trip point for the worker's resident growth since the execution started (sampled
    /// every 5 ms from /proc/self/statm): N + the engine allowance. It is the layer that sees the heap,
    /// ArrayBuffers and off-heap memory (Intl, JSON.stringify buffers, flattened strings) <em>together</em>,
    /// so it is what makes N one budget rather than one per kind. A trip interrupts the script:
    /// <c>memory_limit</c>, limit <c>process</c>, and the worker is kept when the interrupt lands.
    /// </summary>
    public static long ResidentTripBytes(int memoryMb) => memoryMb * Mb + EngineAllowanceBytes(memoryMb);

    /// <summary>
    /// V8's hard heap limit (<c>MaxOldSpaceSize</c>, whole MB), at which V8 aborts the process: at the
    /// resident trip point, so that the heap alone can never carry the worker past the cgroup cap, while
    /// the sampled soft limit (N) and the resident check (which interrupt, keeping the worker) get the
    /// first chance. Only growth inside a single uninterruptible built-in (an <c>Array.fill</c> that
    /// grows a dictionary) reaches it.
    /// </summary>
    public static int HardHeapLimitMb(int memoryMb) => (int)(ResidentTripBytes(memoryMb) / Mb);

    /// <summary>
    /// The most a worker may grow during one execution: 1.25 N + 64 MB over its usage when the
    /// execution starts. The host sets the worker's cgroup cap to exactly this, so the kernel enforces
    /// it whatever the engine does — a compromised worker included. The margin over the resident trip
    /// point (N/8 + 32 MB) absorbs what one 5 ms sampling interval can add before the trip is seen.
    /// </summary>
    public static long WorkerGrowthCapBytes(int memoryMb) => memoryMb * Mb + memoryMb * Mb / 4 + 64 * Mb;

    /// <summary>The cgroup cap for an execution, given the group's usage when it starts.</summary>
    public static long CgroupCapBytes(long usageBytes, int memoryMb) => usageBytes + WorkerGrowthCapBytes(memoryMb);

    /// <summary>The cap while a worker starts and warms up (no execution yet): generous, the runtime's own needs only.</summary>
    public static long StartupCapBytes(int preparedMemoryMb) => 1024 * Mb + WorkerGrowthCapBytes(preparedMemoryMb);

    /// <summary>
    /// A worker that died with the engine's out-of-memory report (or ended itself with the
    /// memory-limit exit code) is only believed when the host's own measure of its memory (the
    /// cgroup's peak during the execution) grew by at least this much: half the budget, at most
    /// 512 MB. A worker's stderr and exit code are attacker-controlled once native code runs in it,
    /// and an engine crash dressed up as an out-of-memory abort must not pass for a limit (it is
    /// <c>internal_error</c> and a security log line instead). The 512 MB ceiling is for V8's
    /// "invalid size" aborts, which end a script at an engine object-size limit rather than at the
    /// budget: measured at 4 GB, <c>new Array(2**28).fill(1.5)</c> aborted V8 with its element
    /// dictionary at its largest size after the worker grew by 1.3 GB.
    /// </summary>
    public static long NearBudgetBytes(int memoryMb) => Math.Min(memoryMb * Mb / 2, 512 * Mb);
}
