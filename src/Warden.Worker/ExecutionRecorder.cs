using System.Diagnostics;
using System.Text;
using Warden.Protocol;

namespace Warden.Worker;

/// <summary>
/// What a script reports during one execution, held to the execution's limits: console entries
/// (streamed to the host at once, so entries logged before a kill survive it), the result or the
/// failure (the first one wins), and the execution's clock. Engine-neutral: an engine's bridge into its
/// scripts forwards here, and <see cref="ExecutionRunner"/> reads the outcome from here.
/// </summary>
/// <remarks>
/// SECURITY: everything arriving here was made by the script (or by Warden's prelude on its behalf):
/// only strings and numbers, sizes and levels checked before anything is kept or sent.
/// </remarks>
internal sealed class ExecutionRecorder(ProtocolChannel channel, Watchdog watchdog, HostCallState? hostCalls = null)
{
    /// <summary>The execution's host calls (what an engine's bridge forwards them to).</summary>
    public HostCallState HostCalls { get; } = hostCalls ?? new HostCallState(channel);

    private string _executionId = "";
    private WireLimits _limits = null!;
    private long _startTimestamp;
    private long _consoleBytes;
    private int _consoleEntries;

    /// <summary>The result JSON when the script succeeded.</summary>
    public string? ResultJson { get; private set; }

    /// <summary>The failure the script (through the prelude) or the worker reported, if any.</summary>
    public ReportedFailure? Failure { get; private set; }

    /// <summary>Set when console output went past its limit.</summary>
    public bool ConsoleLimitHit { get; private set; }

    public bool HasOutcome => ResultJson is not null || Failure is not null;

    /// <summary>Milliseconds since the execution began: the clock of timers and console.time.</summary>
    public double ElapsedMs => Stopwatch.GetElapsedTime(_startTimestamp).TotalMilliseconds;

    /// <summary>Starts a new execution's record (and its clock: time zero of the execution).</summary>
    public void Begin(string executionId, WireLimits limits)
    {
        _executionId = executionId;
        _limits = limits;
        _startTimestamp = Stopwatch.GetTimestamp();
        _consoleBytes = 0;
        _consoleEntries = 0;
        ResultJson = null;
        Failure = null;
        ConsoleLimitHit = false;
    }

    /// <summary>
    /// Streams one console entry to the host. Returns false, and stops the execution, when the entry
    /// would pass the console limits. <paramref name="oversizeChars"/>, when positive, is the size the
    /// engine already knows the entry passes every limit with (the text itself was not copied).
    /// </summary>
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
            watchdog.Trip(TripReason.Console);
            return false;
        }
        _consoleEntries++;
        _consoleBytes += bytes;
        channel.Send(new ConsoleMessage(_executionId, level, text));
        return true;
    }

    /// <summary>The script's result as JSON (serialised inside the sandbox); refused past the result limit.</summary>
    public void Complete(string json)
    {
        if (HasOutcome)
        {
            return;
        }
        if (Encoding.UTF8.GetByteCount(json) > _limits.MaxResultBytes)
        {
            RefuseTooLargeResult();
            return;
        }
        ResultJson = json;
    }

    /// <summary>
    /// The result's JSON passed the result limit, measured where it lies (an engine that reads its length before
    /// it copies the JSON out): the same output_limit as <see cref="Complete"/> gives.
    /// </summary>
    public void RefuseTooLargeResult()
    {
        if (!HasOutcome)
        {
            Failure = new ReportedFailure(WireStatus.OutputLimit, WireStatus.LimitResult, WireErrorNames.OutputLimit,
                LimitMessages.ResultTooLarge(_limits.MaxResultBytes), "", "result");
        }
    }

    /// <summary>A failure described inside the sandbox as bounded strings.</summary>
    public void Fail(ReportedFailure failure)
    {
        if (HasOutcome)
        {
            return;
        }
        Failure = failure;
    }

    /// <summary>The worker's own verdict, replacing whatever the script reported.</summary>
    public void OverrideFailure(ReportedFailure failure)
    {
        ResultJson = null;
        Failure = failure;
    }
}
