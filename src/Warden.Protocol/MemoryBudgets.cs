namespace Warden.Protocol;

/// <summary>
/// The memory a worker may use for one execution, beyond what it used before the execution began,
/// as enforced by the worker's resident-memory check and (with slack on top) by its cgroup's cap.
/// Shared so that host and worker cannot drift apart.
/// </summary>
internal static class MemoryBudgets
{
    /// <summary>
    /// The worker's resident-memory budget: twice the limit (V8's hard heap limit sits at twice the
    /// soft one, and heap and off-heap buffers are accounted separately) plus 64 MB for engine internals.
    /// </summary>
    public static long ProcessBudgetBytes(int memoryMb) => ((2L * memoryMb) + 64) << 20;

    /// <summary>
    /// Above the worker's own check, so that the in-process check (which names the limit precisely)
    /// normally fires first; the cap catches what outruns the 5 ms sampling (one huge off-heap
    /// allocation touched at once) or what a compromised worker does.
    /// </summary>
    public const long CgroupSlackBytes = 192L << 20;

    /// <summary>The cgroup cap for an execution, given the group's usage when it starts.</summary>
    public static long CgroupCapBytes(long usageBytes, int memoryMb) => usageBytes + ProcessBudgetBytes(memoryMb) + CgroupSlackBytes;

    /// <summary>The cap while a worker starts and warms up (no execution yet): generous, the runtime's own needs only.</summary>
    public static long StartupCapBytes(int preparedMemoryMb) => (1024L << 20) + ProcessBudgetBytes(preparedMemoryMb);
}
