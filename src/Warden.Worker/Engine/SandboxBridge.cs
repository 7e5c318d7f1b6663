using System.Diagnostics;
using System.Text;
using Microsoft.ClearScript;
using Warden.Protocol;

namespace Warden.Worker.Engine;

/// <summary>
/// The only .NET object a script's context can touch, and only through the prelude's closure
/// (it is never a global). Every method takes and returns primitives, so no script object ever
/// crosses into .NET here and nothing the script does can make .NET call back into it.
/// </summary>
/// <remarks>
/// Public only because ClearScript exposes public members of public types; it is not API.
/// Reflection is off in the engine (ClearScript's default), so <c>GetType()</c> and friends are refused.
/// </remarks>
[DefaultScriptUsage(ScriptAccess.None)]
public sealed class SandboxBridge
{
    private readonly ProtocolChannel _channel;
    private readonly Watchdog _watchdog;
    private string _executionId = "";
    private WireLimits _limits = null!;
    private long _startTimestamp;
    private long _consoleBytes;
    private int _consoleEntries;
    private Func<object> _evaluateWebApis = static () => Undefined.Value;

    internal SandboxBridge(ProtocolChannel channel, Watchdog watchdog)
    {
        _channel = channel;
        _watchdog = watchdog;
    }

    /// <summary>The result JSON when the script succeeded.</summary>
    internal string? ResultJson { get; private set; }

    /// <summary>The failure the prelude reported, if any.</summary>
    internal ReportedFailure? Failure { get; private set; }

    /// <summary>Set when console output went past its limit.</summary>
    internal bool ConsoleLimitHit { get; private set; }

    internal bool HasOutcome => ResultJson is not null || Failure is not null;

    internal double ElapsedMs => Stopwatch.GetElapsedTime(_startTimestamp).TotalMilliseconds;

    internal void Begin(string executionId, WireLimits limits, Func<object> evaluateWebApis)
    {
        _evaluateWebApis = evaluateWebApis;
        _executionId = executionId;
        _limits = limits;
        _startTimestamp = Stopwatch.GetTimestamp();
        _consoleBytes = 0;
        _consoleEntries = 0;
        ResultJson = null;
        Failure = null;
        ConsoleLimitHit = false;
    }

    /// <summary>Milliseconds since the execution began: the clock of timers and console.time.</summary>
    [ScriptUsage(ScriptAccess.Full)]
    public double Now() => ElapsedMs;

    /// <summary>
    /// Evaluates Warden's web API bundle in the current isolate, on the script thread, inside the
    /// execution (its CPU and memory count), and returns the bundle's completion value to the prelude
    /// that asked: a null-prototype record holding either its factory (a function of our own embedded
    /// source) or the error its top level caught — the bundle never throws, so no value a script threw
    /// reaches ClearScript here. Called once per execution, on the first read of a web global, so
    /// executions that use none of them do not pay for the bundle at all. The one bridge call that
    /// returns an object.
    /// </summary>
    [ScriptUsage(ScriptAccess.Full)]
    public object LoadWebApis() => _evaluateWebApis();

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
    public void CollectGarbage() => (ScriptEngine.Current as Microsoft.ClearScript.V8.V8ScriptEngine)?.CollectGarbage(false);

    /// <summary>Most bytes one <c>crypto.getRandomValues</c> call may ask for (WebCrypto's quota).</summary>
    internal const int MaxRandomBytes = 65536;

    /// <summary>
    /// <paramref name="count"/> bytes from the OS CSPRNG (.NET's <see cref="System.Security.Cryptography.RandomNumberGenerator"/>,
    /// warmed up before the lockdown), as a string of chars 0..255: a primitive, so no buffer of the
    /// host's is ever shared with the script. An out-of-range count gets an empty string (the script
    /// side checks the length and throws), never an exception carrying host details.
    /// </summary>
    [ScriptUsage(ScriptAccess.Full)]
    public string RandomBytes(double count)
    {
        if (!(count >= 0 && count <= MaxRandomBytes) || count != Math.Floor(count))
        {
            return "";
        }
        int n = (int)count;
        Span<byte> bytes = stackalloc byte[n];
        System.Security.Cryptography.RandomNumberGenerator.Fill(bytes);
        return Encoding.Latin1.GetString(bytes);
    }

    /// <summary>
    /// Streams one console entry to the host at once (so entries logged before a kill survive it).
    /// Returns false, and stops the execution, when the entry would pass the console limits.
    /// </summary>
    [ScriptUsage(ScriptAccess.Full)]
    public bool Log(string level, string text, double oversizeChars)
    {
        if (ConsoleLimitHit)
        {
            return false;
        }
        long bytes = oversizeChars > 0 ? (long)oversizeChars : Encoding.UTF8.GetByteCount(text);
        if (!WireStatus.ConsoleLevels.Contains(level)
            || _consoleEntries + 1 > _limits.MaxConsoleEntries
            || _consoleBytes + bytes > _limits.MaxConsoleBytes)
        {
            ConsoleLimitHit = true;
            _watchdog.Trip(TripReason.Console);
            return false;
        }
        _consoleEntries++;
        _consoleBytes += bytes;
        _channel.Send(new ConsoleMessage(_executionId, level, text));
        return true;
    }

    /// <summary>The script's result, serialised inside the sandbox by the captured JSON.stringify.</summary>
    [ScriptUsage(ScriptAccess.Full)]
    public void Complete(string json)
    {
        if (HasOutcome)
        {
            return;
        }
        if (Encoding.UTF8.GetByteCount(json) > _limits.MaxResultBytes)
        {
            Failure = new ReportedFailure(WireStatus.OutputLimit, WireStatus.LimitResult, WireErrorNames.OutputLimit,
                LimitMessages.ResultTooLarge(_limits.MaxResultBytes), "", "result");
            return;
        }
        ResultJson = json;
    }

    /// <summary>A failure described inside the sandbox as bounded strings.</summary>
    [ScriptUsage(ScriptAccess.Full)]
    public void Fail(string status, string limit, string name, string message, string stack, string phase)
    {
        if (HasOutcome)
        {
            return;
        }
        Failure = new ReportedFailure(status, limit.Length == 0 ? null : limit, name, message, stack, phase);
    }

    internal void OverrideFailure(ReportedFailure failure)
    {
        ResultJson = null;
        Failure = failure;
    }
}

/// <summary>A failure as the prelude (or the worker) described it.</summary>
internal sealed record ReportedFailure(string Status, string? Limit, string Name, string Message, string Stack, string Phase);
