using System.Diagnostics;
using Warden.Protocol;
using Warden.Worker.Engines;

namespace Warden.Worker;

/// <summary>
/// The worker's one warm isolate (<see cref="Warden.IsolationUnit"/> Context): hands each such execution a fresh
/// context in it, and decides after each one whether the isolate may serve the next. Script thread only.
/// Engine-neutral: the isolate is the engine's <see cref="IWarmIsolate"/>.
/// </summary>
/// <remarks>
/// SECURITY: a worker serves one isolation key, so a warm isolate never passes between keys. It is dropped
/// (and a fresh one made on the next execution) when an execution ends in anything but a result or a
/// script error (a limit or an internal error: the isolate may be in any state), when an execution asks for
/// another memory limit (its caps are fixed when it is made), after the host's bounds of executions and age,
/// and when what earlier executions left reachable grows past the host's bound after a full collection.
/// </remarks>
internal sealed class WarmIsolateKeeper(IEngine engine, ExecutionRecorder recorder) : IDisposable
{
    /// <summary>An execution whose memory in use passed the isolate's baseline by this much ends the isolate.</summary>
    internal const long LargeExecutionBytes = 64L << 20;

    private IWarmIsolate? _isolate;
    private IEngineInstance? _nextContext;
    private int _memoryMb;
    private long _madeAt;
    private int _executions;
    private long _baselineBytes;

    /// <summary>A fresh context for this execution, and its number in its warm isolate (1: the isolate is new).</summary>
    public (IEngineInstance Context, int Number) Take(ExecuteMessage request, WireWarmIsolate bounds)
    {
        if (_isolate is not null && (_memoryMb != request.Limits.MemoryMb || Expired(bounds)))
        {
            Drop();
        }
        if (_isolate is null)
        {
            _isolate = engine.CreateWarmIsolate(request.Limits.MemoryMb, recorder);
            _memoryMb = request.Limits.MemoryMb;
            _madeAt = Stopwatch.GetTimestamp();
            _executions = 0;
            // Measured before any context exists: what every later context and its garbage add is growth.
            _baselineBytes = _isolate.MemoryInUseBytes(collectGarbageFirst: false);
        }
        var context = _nextContext ?? _isolate.CreateContext();
        _nextContext = null;
        _executions++;
        return (context, _executions);
    }

    /// <summary>
    /// Ends an execution's context (after its result was sent) and keeps the isolate for the next one only
    /// when every bound allows; then prepares the next context while the worker is otherwise idle.
    /// </summary>
    /// <param name="result">Null when the execution did not end in a result (the worker is failing).</param>
    public void Release(IEngineInstance context, ResultMessage? result, WireWarmIsolate bounds)
    {
        context.Dispose();
        if (_isolate is null)
        {
            return;
        }
        if (result is null || result.Status is not (WireStatus.Ok or WireStatus.ScriptError)
            || _executions >= bounds.MaxExecutions || Expired(bounds)
            // An execution that used this much leaves the isolate holding pages a fresh one would not
            // (V8 keeps what it committed): tearing it down gives them back, as a fresh isolate's teardown would.
            || result.Usage.MemoryBytes - _baselineBytes > LargeExecutionBytes)
        {
            Drop();
            return;
        }
        // Garbage of finished contexts counts until V8 collects it; a full collection (a few ms for a small
        // heap, between executions) tells garbage from what is still reachable. Looked at once growth passes
        // the bound.
        // SECURITY: the bound is MaxHeapGrowthMb and at most a quarter of the budget. What is still reachable
        // after the collection is not any context's: tables of the isolate a script can fill and V8 never
        // empties (the Symbol.for registry) take it from every later execution's heap limit. MaxHeapGrowthMb
        // alone (32 MB by default) let a 16 MB isolate keep 9 MB of registered symbols, and a later execution
        // that needs 10 MB, and gets them in a fresh isolate, ended in memory_limit (Isolation/WarmIsolateReviewTests).
        long bound = Math.Min((long)bounds.MaxHeapGrowthMb << 20, MemoryBudgets.BudgetBytes(_memoryMb) / 4);
        if (_isolate.MemoryInUseBytes(collectGarbageFirst: false) - _baselineBytes > bound
            && _isolate.MemoryInUseBytes(collectGarbageFirst: true) - _baselineBytes > bound)
        {
            Drop();
            return;
        }
        _nextContext = _isolate.CreateContext();
    }

    private bool Expired(WireWarmIsolate bounds) =>
        Stopwatch.GetElapsedTime(_madeAt).TotalMilliseconds >= bounds.MaxAgeMs;

    private void Drop()
    {
        var isolate = _isolate;
        var next = _nextContext;
        _isolate = null;
        _nextContext = null;
        try
        {
            next?.Dispose();
        }
        finally
        {
            isolate?.Dispose();
        }
    }

    public void Dispose() => Drop();
}
