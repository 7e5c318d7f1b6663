using System.Text.Json.Serialization;

namespace Warden.Protocol;

/// <summary>
/// How an engine's memory budget (<c>memoryMb</c>, "N") maps onto what the host measures and enforces
/// itself: the worker's cgroup cap for an execution and the growth at which the host believes an
/// engine's out-of-memory abort. Each engine states its own rule in <c>ready</c> (an engine whose limits
/// are sampled needs more headroom than one whose limits are exact); the host computes everything from it.
/// </summary>
/// <param name="GrowthCapPerBudgetMb">MB of cgroup cap per MB of budget (V8: 1.25).</param>
/// <param name="GrowthCapFixedMb">MB of cgroup cap on top, for the engine's fixed working memory (V8: 64).</param>
/// <param name="NearBudgetFraction">The share of the budget the worker must have grown by for an engine
/// out-of-memory report to be believed (V8: 0.5).</param>
/// <param name="NearBudgetCeilingMb">At most this many MB of growth are required, whatever the budget
/// (V8: 512, for its "invalid size" aborts at engine object-size limits).</param>
internal sealed record WireMemoryRule(
    [property: JsonRequired] double GrowthCapPerBudgetMb,
    [property: JsonRequired] int GrowthCapFixedMb,
    [property: JsonRequired] double NearBudgetFraction,
    [property: JsonRequired] int NearBudgetCeilingMb)
{
    private const long Mb = 1L << 20;

    /// <summary>The most a valid rule's cgroup cap may give an engine per MB of budget (see <see cref="Validate"/>).</summary>
    public const double MaxGrowthCapPerBudgetMb = 2;

    /// <summary>The most a valid rule's cgroup cap may give an engine on top of that, in MB.</summary>
    public const int MaxGrowthCapFixedMb = 256;

    /// <summary>The largest <see cref="WorkerGrowthCapBytes"/> any valid rule gives: 2 N + 256 MB.</summary>
    public static long LargestWorkerGrowthCapBytes(int memoryMb) =>
        (long)(MemoryBudgets.BudgetBytes(memoryMb) * MaxGrowthCapPerBudgetMb) + MaxGrowthCapFixedMb * Mb;

    /// <summary>
    /// The most a worker may grow during one execution over its usage when the execution starts. The
    /// host sets the worker's cgroup cap to exactly this, so the kernel enforces it whatever the engine
    /// does, a compromised worker included.
    /// </summary>
    public long WorkerGrowthCapBytes(int memoryMb) => (long)(MemoryBudgets.BudgetBytes(memoryMb) * GrowthCapPerBudgetMb) + GrowthCapFixedMb * Mb;

    /// <summary>The cgroup cap for an execution, given the group's usage when it starts.</summary>
    public long CgroupCapBytes(long usageBytes, int memoryMb) => usageBytes + WorkerGrowthCapBytes(memoryMb);

    /// <summary>
    /// A worker that died with its engine's out-of-memory report (or ended itself with the memory-limit
    /// exit code) is only believed when the host's own measure of its memory (the cgroup's peak during
    /// the execution) grew by at least this much. A worker's stderr and exit code are attacker-controlled
    /// once native code runs in it: an engine crash dressed up as an out-of-memory abort must not pass
    /// for a limit.
    /// </summary>
    public long NearBudgetBytes(int memoryMb) => Math.Min((long)(MemoryBudgets.BudgetBytes(memoryMb) * NearBudgetFraction), NearBudgetCeilingMb * Mb);

    /// <summary>
    /// The bounds the host holds any engine's rule to (a worker describes itself before any user code
    /// runs, but a wrong rule must not turn the cgroup cap into no cap): the cap may give an engine at
    /// most 2 N + 256 MB, and belief in an out-of-memory report needs at least a tenth of the budget
    /// (or 32 MB) of growth. Returns the problem, or null.
    /// </summary>
    public string? Validate() =>
        !double.IsFinite(GrowthCapPerBudgetMb) || GrowthCapPerBudgetMb < 1 || GrowthCapPerBudgetMb > MaxGrowthCapPerBudgetMb ? $"growthCapPerBudgetMb must be between 1 and {MaxGrowthCapPerBudgetMb}"
        : GrowthCapFixedMb is < 0 or > MaxGrowthCapFixedMb ? $"growthCapFixedMb must be between 0 and {MaxGrowthCapFixedMb}"
        : !double.IsFinite(NearBudgetFraction) || NearBudgetFraction < 0.1 || NearBudgetFraction > 1 ? "nearBudgetFraction must be between 0.1 and 1"
        : NearBudgetCeilingMb is < 32 or > 4096 ? "nearBudgetCeilingMb must be between 32 and 4096"
        : null;
}
