using Warden.Hosting.Isolation;
using Warden.Protocol;

namespace Warden.Hosting;

/// <summary>
/// The host's memory policy for one worker, through its cgroup (a no-op without the cgroup layer):
/// the baseline read when the worker became ready, a cap per execution from the engine's memory rule,
/// the OOM-kill count and peak-usage mark that let a death during the execution be judged by the
/// host's own measure, and the growth at rest that gets a worker replaced.
/// </summary>
internal sealed class WorkerMemoryPolicy
{
    /// <summary>
    /// How much a worker's memory at rest may grow past what it used when it became ready before it is
    /// replaced. It also bounds the cap of the next execution: a worker that hoards memory between
    /// executions (a leak, or native code that escaped the engine) cannot ratchet its cap upwards.
    /// </summary>
    internal const long RestingGrowthAllowanceBytes = 256L << 20;

    private readonly WorkerCgroup? _cgroup;
    private readonly WireMemoryRule _rule;
    private readonly long _baselineBytes;
    private long _oomKillsAtStart;
    private long _usageAtExecutionStart;
    private bool _peakWindowIsExecution;

    /// <summary>Reads the baseline: call when the worker has just become ready and has run no user code.</summary>
    public WorkerMemoryPolicy(WorkerCgroup? cgroup, WireMemoryRule rule)
    {
        _cgroup = cgroup;
        _rule = rule;
        _baselineBytes = cgroup?.MemoryUsageBytes() ?? 0;
    }

    /// <summary>True when the worker's cgroup holds much more memory at rest than after start: replace it.</summary>
    public bool HasOutgrownItsBaseline => _cgroup is not null && _baselineBytes > 0
        && _cgroup.MemoryUsageBytes() > _baselineBytes + RestingGrowthAllowanceBytes;

    /// <summary>
    /// Caps the worker's cgroup at what it uses now plus this execution's budget (the engine's
    /// <see cref="WireMemoryRule.CgroupCapBytes"/>), and remembers the OOM-kill count and resets the
    /// peak so that what happens during the execution is recognised. False, with the reason, when
    /// the cgroup cannot be written: the worker must not be used then.
    /// </summary>
    public bool TryArmForExecution(int memoryMb, out string? failure)
    {
        failure = null;
        if (_cgroup is null)
        {
            return true;
        }
        try
        {
            long usage = _cgroup.MemoryUsageBytes();
            // The baseline bounds the cap only when it was read (a failed read gives 0).
            long atRest = _baselineBytes > 0 ? Math.Min(usage, _baselineBytes + RestingGrowthAllowanceBytes) : usage;
            _cgroup.SetMemoryLimit(_rule.CgroupCapBytes(atRest, memoryMb));
            _oomKillsAtStart = _cgroup.OomKills();
            _usageAtExecutionStart = usage;
            _peakWindowIsExecution = _cgroup.ResetPeakMemoryUsage();
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            failure = e.Message;
            return false;
        }
    }

    /// <summary>The kernel counted an OOM kill in the worker's cgroup since the execution was armed.</summary>
    public bool WasOomKilledDuringExecution() => _cgroup is not null && _cgroup.OomKills() > _oomKillsAtStart;

    /// <summary>
    /// The host's own measure of how much the worker grew during this execution, from the cgroup's peak
    /// usage since the execution started (where the kernel can reset it; otherwise since the group was
    /// made, an upper bound). Null without a cgroup: the host then has no measure of its own.
    /// </summary>
    public long? GrowthDuringExecution()
    {
        long peak = _cgroup?.PeakMemoryUsageBytes() ?? 0;
        if (peak <= 0)
        {
            return null;
        }
        return _peakWindowIsExecution ? peak - _usageAtExecutionStart : peak - Math.Min(_usageAtExecutionStart, _baselineBytes);
    }

    /// <summary>Whether that growth came near the budget (the engine's rule), so that an out-of-memory report is believable. Null: no measure.</summary>
    public bool? IsNearBudget(long? growth, int memoryMb) =>
        growth is { } grown ? grown >= _rule.NearBudgetBytes(memoryMb) : null;
}
