namespace Warden;

/// <summary>
/// When a warm isolate (<see cref="IsolationUnit.Context"/>) is dropped and replaced by a fresh one. It is
/// also dropped after any execution that ended in a limit (timeout, memory, output) or an internal error,
/// and when an execution asks for a different memory limit. One property per bound; each setter rejects
/// nonsense at once. docs/limits.md explains the defaults.
/// </summary>
public sealed class WarmIsolateOptions
{
    private int _maxExecutions = 500;
    private TimeSpan _maxAge = TimeSpan.FromSeconds(60);
    private int _maxHeapGrowthMb = 32;

    /// <summary>
    /// Executions one warm isolate serves before it is replaced. Default 500: a replacement costs one fresh
    /// isolate (~10–20 ms of CPU on 2 cores), under 3% at the warm rate of a tiny script, and bounds how long
    /// JIT and heap state of one execution lingers for later ones. 1 to 1,000,000.
    /// </summary>
    public int MaxExecutions
    {
        get => _maxExecutions;
        set => _maxExecutions = value is >= 1 and <= 1_000_000 ? value
            : throw new ArgumentOutOfRangeException(nameof(MaxExecutions), value, "MaxExecutions must be between 1 and 1000000.");
    }

    /// <summary>Age at which a warm isolate is replaced (checked between executions). Default 60 s; 1 s to 1 day.</summary>
    public TimeSpan MaxAge
    {
        get => _maxAge;
        set => _maxAge = value >= TimeSpan.FromSeconds(1) && value <= TimeSpan.FromDays(1) ? value
            : throw new ArgumentOutOfRangeException(nameof(MaxAge), value, "MaxAge must be between 1 second and 1 day.");
    }

    /// <summary>
    /// Growth of the isolate's memory in use (heap and buffers), in MB over what it held when it was made,
    /// after a full garbage collection, at which it is replaced (or at a quarter of the memory budget, whichever
    /// is less): what earlier executions left reachable (engine caches included, and tables V8 never empties,
    /// such as the <c>Symbol.for</c> registry) takes that much of a later one's budget. Default 32 MB; 1 to 4096.
    /// </summary>
    public int MaxHeapGrowthMb
    {
        get => _maxHeapGrowthMb;
        set => _maxHeapGrowthMb = value is >= 1 and <= SandboxLimits.AbsoluteMaxMemoryMb ? value
            : throw new ArgumentOutOfRangeException(nameof(MaxHeapGrowthMb), value, $"MaxHeapGrowthMb must be between 1 and {SandboxLimits.AbsoluteMaxMemoryMb}.");
    }

    internal WarmIsolateOptions Clone() => new() { MaxExecutions = MaxExecutions, MaxAge = MaxAge, MaxHeapGrowthMb = MaxHeapGrowthMb };
}
