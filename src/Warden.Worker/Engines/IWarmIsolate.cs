namespace Warden.Worker.Engines;

/// <summary>
/// An engine isolate kept warm between executions of one isolation key (<see cref="Warden.IsolationUnit"/> Context):
/// each execution gets a fresh context in it, with its own global object and built-ins. The worker keeps at
/// most one (<see cref="WarmIsolateKeeper"/>), only for executions of the same memory limit, and drops it within
/// the host's bounds and after any limit.
/// </summary>
internal interface IWarmIsolate : IDisposable
{
    /// <summary>
    /// A fresh context for one execution, reporting into the recorder the isolate was made with. Disposing the
    /// instance drops the context, not the isolate, and revokes everything through which the context could still
    /// report: nothing it left behind can log into or settle a later execution.
    /// </summary>
    IEngineInstance CreateContext();

    /// <summary>
    /// The isolate's memory in use now (heap and buffers, every context's and their garbage), after a full
    /// collection when <paramref name="collectGarbageFirst"/>. Script thread only, between executions;
    /// <see cref="long.MaxValue"/> when the isolate can no longer tell.
    /// </summary>
    long MemoryInUseBytes(bool collectGarbageFirst);
}
