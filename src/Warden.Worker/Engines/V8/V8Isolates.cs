using Microsoft.ClearScript.V8;
using Warden.Protocol;

namespace Warden.Worker.Engines.V8;

/// <summary>How Warden makes a V8 isolate (a ClearScript <see cref="V8Runtime"/>) for a memory budget.</summary>
internal static class V8Isolates
{
    /// <summary>
    /// V8's young generation, in MB (<c>MaxNewSpaceSize</c>). Small enough to fit the engine
    /// allowance of the smallest budget; issue measurements found 4–8 MB also made allocation churn
    /// faster than V8's default (fewer first-touch page faults in a fresh heap).
    /// </summary>
    internal const int YoungSpaceMb = 8;

    /// <summary>Warden's own scripts compiled per engine from the process's code caches: for fresh isolates, each used once.</summary>
    public static V8Scripts PerProcessScripts { get; } = new V8Scripts.FromCodeCache();

    /// <summary>
    /// What an isolate holds for scripts now: its heap in use and its external memory (ArrayBuffer backing
    /// stores, mostly). Throws ScriptEngineException when the isolate refuses calls (after a heap violation).
    /// </summary>
    public static long MemoryInUseBytes(V8Runtime runtime)
    {
        var info = runtime.GetHeapInfo();
        return (long)(info.UsedHeapSize + info.TotalExternalSize);
    }

    /// <summary>An isolate whose memory is held to the layers of <paramref name="memoryMb"/>'s budget, with no context yet.</summary>
    public static V8Runtime CreateRuntime(int memoryMb)
    {
        ulong limitBytes = (ulong)MemoryBudgets.BudgetBytes(memoryMb);
        // One budget, several layers (MemoryBudgets, docs/limits.md). MaxOldSpaceSize is V8's hard
        // limit: reaching it aborts the process, so it sits above the soft limit (MaxHeapSize, checked
        // by sampling, which stops the script and keeps the worker) at the resident trip point.
        // The young generation is bounded too: V8 sizes it from the old generation, and at large
        // budgets its semispaces alone would eat the engine's allowance.
        var constraints = new V8RuntimeConstraints
        {
            MaxOldSpaceSize = MemoryBudgets.HardHeapLimitMb(memoryMb),
            MaxNewSpaceSize = YoungSpaceMb,
            MaxArrayBufferAllocation = limitBytes,
        };
        var runtime = new V8Runtime("warden", constraints);
        try
        {
            // The soft limit applies to the whole isolate: in a warm isolate, what earlier contexts left is
            // garbage by then, and ClearScript collects garbage before it declares the limit passed.
            runtime.MaxHeapSize = (UIntPtr)limitBytes;
            runtime.HeapSizeSampleInterval = TimeSpan.FromMilliseconds(5);
            runtime.MaxStackUsage = (UIntPtr)V8Instance.StackUsageBytes;
            return runtime;
        }
        catch
        {
            runtime.Dispose();
            throw;
        }
    }
}
