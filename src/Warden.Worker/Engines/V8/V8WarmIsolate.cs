using Microsoft.ClearScript;
using Microsoft.ClearScript.V8;

namespace Warden.Worker.Engines.V8;

/// <summary>
/// A V8 isolate kept warm for one isolation key's executions (<see cref="Warden.IsolationUnit"/> Context): each
/// execution gets a fresh context in it (<see cref="V8Instance"/>), with its own global object, built-ins,
/// prelude and bridge. Warden's scripts are compiled once per isolate (<see cref="V8Scripts.PerIsolate"/>).
/// </summary>
/// <remarks>
/// SECURITY: what the contexts of one isolate share is V8's, not any script's: the heap (one memory budget,
/// garbage included), compiled code, the string table, the symbol registry and the microtask queue. The last
/// is drained at the end of every entry into the isolate (V8's default policy: ClearScript never changes it),
/// inside the execution's watchdog; an execution whose jobs never drain is interrupted, and any limit ends the
/// isolate. A callback V8 still holds for a disposed context finds its bridge revoked.
/// </remarks>
internal sealed class V8WarmIsolate : IWarmIsolate
{
    private readonly V8Runtime _runtime;
    private readonly V8Scripts.PerIsolate _scripts;
    private readonly EngineFeatures _features;
    private readonly ExecutionRecorder _recorder;

    public V8WarmIsolate(int memoryMb, EngineFeatures features, ExecutionRecorder recorder)
    {
        _runtime = V8Isolates.CreateRuntime(memoryMb);
        _scripts = new V8Scripts.PerIsolate(_runtime);
        _features = features;
        _recorder = recorder;
    }

    public IEngineInstance CreateContext() => V8Instance.CreateContext(_runtime, ownsRuntime: false, _scripts, _features, _recorder);

    public long MemoryInUseBytes(bool collectGarbageFirst)
    {
        try
        {
            if (collectGarbageFirst)
            {
                _runtime.CollectGarbage(false);
            }
            return V8Isolates.MemoryInUseBytes(_runtime);
        }
        catch (ScriptEngineException)
        {
            // The isolate passed a limit and refuses calls: as good as full.
            return long.MaxValue;
        }
    }

    public void Dispose()
    {
        try
        {
            _scripts.Dispose();
        }
        finally
        {
            _runtime.Dispose();
        }
    }
}
