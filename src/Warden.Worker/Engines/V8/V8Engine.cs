using Warden.Protocol;

namespace Warden.Worker.Engines.V8;

/// <summary>
/// V8 through ClearScript: a fresh isolate per execution, or a fresh context in a warm isolate
/// (<see cref="V8Instance"/>, <see cref="V8WarmIsolate"/>), its memory in the
/// layers of <see cref="MemoryBudgets"/> (a sampled heap limit, V8's hard heap limit, the resident trip,
/// the cgroup cap).
/// </summary>
internal sealed class V8Engine(EngineFeatures features) : IEngine
{
    private static readonly WireEngine V8Description = new(EngineNames.V8,
        typeof(Microsoft.ClearScript.V8.V8ScriptEngine).Assembly.GetName().Version?.ToString() ?? "unknown",
        MemoryBudgets.V8Rule,
        // V8's fatal-error texts for running out of memory (printed before it aborts the process).
        ["Fatal JavaScript out of memory", "Fatal process out of memory", "JavaScript heap out of memory", "Fatal JavaScript invalid size error"]);

    public WireEngine Description => V8Description;

    public IReadOnlyList<(string Code, bool Module)> WarmUpSubmissions => JavaScriptWarmUp.Submissions;

    /// <summary>V8's JIT makes code while scripts run; it reads its entropy source when it makes an isolate.</summary>
    public Lockdown.EngineSyscalls SyscallsAfterLockdown => Lockdown.EngineSyscalls.ExecutableMemory | Lockdown.EngineSyscalls.ReadOnlyOpens;

    public long ResidentTripBytes(int memoryMb) => MemoryBudgets.ResidentTripBytes(memoryMb);

    public IEngineInstance CreateInstance(int memoryMb, ExecutionRecorder recorder) =>
        V8Instance.CreateFresh(memoryMb, features, recorder);

    public IWarmIsolate CreateWarmIsolate(int memoryMb, ExecutionRecorder recorder) => new V8WarmIsolate(memoryMb, features, recorder);
}
