namespace Warden.Hosting;

/// <summary>Why the pool killed and replaced a worker: one value per path, a log text and a metric label each.</summary>
internal enum RetirementReason
{
    LimitOrFailure,
    Died,
    ExecutionCount,
    Lifetime,
    MemoryAtRest,
    OtherKey,
    Disposed,
}

internal static class RetirementReasons
{
    public static string Text(this RetirementReason reason) => reason switch
    {
        RetirementReason.LimitOrFailure => "the execution violated a limit or failed",
        RetirementReason.Died => "the worker died or is no longer usable",
        RetirementReason.ExecutionCount => "execution count reached",
        RetirementReason.Lifetime => "lifetime reached",
        RetirementReason.MemoryAtRest => "its memory at rest grew past its baseline",
        RetirementReason.OtherKey => "its slot went to another isolation key or engine",
        _ => "sandbox disposed",
    };

    /// <summary>A short, bounded label (metrics).</summary>
    public static string Label(this RetirementReason reason) => reason switch
    {
        RetirementReason.LimitOrFailure => "limit_or_failure",
        RetirementReason.Died => "died",
        RetirementReason.ExecutionCount => "execution_count",
        RetirementReason.Lifetime => "lifetime",
        RetirementReason.MemoryAtRest => "memory_at_rest",
        RetirementReason.OtherKey => "other_key",
        _ => "disposed",
    };
}
