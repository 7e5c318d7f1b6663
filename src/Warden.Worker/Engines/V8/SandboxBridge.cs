using Microsoft.ClearScript;

namespace Warden.Worker.Engines.V8;

/// <summary>
/// The only .NET object a V8 script's context can touch, and only through the prelude's closure
/// (it is never a global). Every method takes and returns primitives, so no script object ever
/// crosses into .NET here and nothing the script does can make .NET call back into it. One per
/// context; what the script reports goes on to the engine-neutral <see cref="ExecutionRecorder"/>.
/// Revoked when its context is disposed: in a warm isolate the recorder goes on to serve later
/// executions, and a callback V8 still runs for an old context must not reach them.
/// </summary>
/// <remarks>
/// Public only because ClearScript exposes public members of public types; it is not API.
/// Reflection is off in the engine (ClearScript's default), so <c>GetType()</c> and friends are refused.
/// </remarks>
[DefaultScriptUsage(ScriptAccess.None)]
public sealed class SandboxBridge
{
    private readonly ExecutionRecorder _recorder;
    private readonly Func<object> _evaluateWebApis;
    private volatile bool _revoked;

    internal SandboxBridge(ExecutionRecorder recorder, Func<object> evaluateWebApis)
    {
        _recorder = recorder;
        _evaluateWebApis = evaluateWebApis;
    }

    /// <summary>
    /// From now on every call does nothing (Log refuses, which stops the caller's logging): the context's
    /// execution is over. Called by the script thread when it disposes the context, after its last entry.
    /// </summary>
    internal void Revoke() => _revoked = true;

    /// <summary>The running execution's <c>warden:host</c> source, or null when it was granted nothing (.NET only).</summary>
    internal string? HostModuleSource => _revoked ? null : _recorder.HostCalls.ModuleSource;

    /// <summary>Milliseconds since the execution began: the clock of timers and console.time.</summary>
    [ScriptUsage(ScriptAccess.Full)]
    public double Now() => _revoked ? 0 : _recorder.ElapsedMs;

    /// <summary>
    /// Evaluates Warden's web API bundle in this isolate, on the script thread, inside the
    /// execution (its CPU and memory count), and returns the bundle's completion value to the prelude
    /// that asked: a null-prototype record holding either its factory (a function of our own embedded
    /// source) or the error its top level caught — the bundle never throws, so no value a script threw
    /// reaches ClearScript here. Called once per execution, on the first read of a web global, so
    /// executions that use none of them do not pay for the bundle at all. The one bridge call that
    /// returns an object.
    /// </summary>
    [ScriptUsage(ScriptAccess.Full)]
    public object? LoadWebApis() => _revoked ? null : _evaluateWebApis();

    /// <summary>
    /// A full garbage collection of the calling isolate, on the script thread, inside the execution
    /// (its time counts). The prelude asks for one only when its count of live resizable buffers
    /// passes a cap and only after a share of that cap was newly allocated (so a script cannot make it
    /// run back to back): V8 clears the weak references the count relies on only in a full collection.
    /// One full collection, not ClearScript's exhaustive one (several in a row, plus cache flushing):
    /// measured with a 1M-object heap, the exhaustive one made a churn of resizable buffers overrun a
    /// 30 s limit uninterruptibly; one collection cost ~0.4 s there.
    /// </summary>
    [ScriptUsage(ScriptAccess.Full)]
    public void CollectGarbage() => (_revoked ? null : ScriptEngine.Current as Microsoft.ClearScript.V8.V8ScriptEngine)?.CollectGarbage(false);

    /// <summary>Bytes for <c>crypto.getRandomValues</c>: see <see cref="SecureRandomText.Bytes"/>.</summary>
    [ScriptUsage(ScriptAccess.Full)]
    public string RandomBytes(double count) => _revoked ? "" : SecureRandomText.Bytes(count);

    /// <summary>
    /// Streams one console entry to the host at once (so entries logged before a kill survive it).
    /// Returns false, and stops the execution, when the entry would pass the console limits.
    /// </summary>
    [ScriptUsage(ScriptAccess.Full)]
    public bool Log(string level, string text, double oversizeChars) => !_revoked && _recorder.Log(level, text, oversizeChars);

    /// <summary>The script's result, serialised inside the sandbox by the captured JSON.stringify.</summary>
    [ScriptUsage(ScriptAccess.Full)]
    public void Complete(string json)
    {
        if (!_revoked)
        {
            _recorder.Complete(json);
        }
    }

    /// <summary>A failure described inside the sandbox as bounded strings.</summary>
    [ScriptUsage(ScriptAccess.Full)]
    public void Fail(string status, string limit, string name, string message, string stack, string phase)
    {
        if (!_revoked)
        {
            _recorder.Fail(new ReportedFailure(status, limit.Length == 0 ? null : limit, name, message, stack, phase));
        }
    }

    /// <summary>The execution's host-function grant as JSON for the prelude (see <see cref="HostCallState.GrantJson"/>); "" when none.</summary>
    [ScriptUsage(ScriptAccess.Full)]
    public string HostGrant() => _revoked ? "" : _recorder.HostCalls.GrantJson();

    /// <summary>
    /// A call of a granted host function with its arguments as JSON made in the isolate (the prelude bounds its
    /// length before it crosses): the call's id, or the message of the RangeError it rejects with.
    /// </summary>
    [ScriptUsage(ScriptAccess.Full)]
    public object HostCall(string name, string argumentsJson) => _revoked ? "" : _recorder.HostCalls.Call(name, argumentsJson);

    /// <summary>The next host reply for the prelude to deliver, as JSON; "" when none waits.</summary>
    [ScriptUsage(ScriptAccess.Full)]
    public string HostReply() => _revoked ? "" : _recorder.HostCalls.TakeReply();
}
