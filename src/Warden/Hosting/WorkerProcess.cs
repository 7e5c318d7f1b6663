using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Warden.Hosting.Isolation;
using Warden.Protocol;

namespace Warden.Hosting;

/// <summary>
/// One worker process, seen from the host: starts it, feeds it executions one at a time, enforces
/// the hard deadline, and kills it. SECURITY: every frame from the worker is attacker-controlled
/// (the worker runs hostile code in an engine without a heap sandbox): lengths are capped before
/// allocating, the schema is strict, execution ids must match, sizes are re-checked and the result
/// is re-validated as exactly one JSON value. Any breach kills the worker and is logged as a
/// security event.
/// </summary>
internal sealed class WorkerProcess : IAsyncDisposable
{
    private const int StderrTailBytes = 64 << 10;
    /// <summary>A ready frame carries the lockdown report (and, in a self-test, every probe's result).</summary>
    private const int ReadyFrameMaxBytes = 64 << 10;
    /// <summary>How long a worker may take from receiving an execution to starting user code (isolate creation included).</summary>
    private static readonly TimeSpan StartOfExecutionTimeout = TimeSpan.FromSeconds(10);

    private readonly Process _process;
    private readonly Stream _toWorker;
    private readonly Stream _fromWorker;
    private readonly BoundedTail _stderr = new(StderrTailBytes);
    private readonly Task _stderrPump;
    private readonly ILogger _logger;
    private readonly WorkerCgroup? _cgroup;
    private long _oomKillsAtStart;
    private long _memoryAtExecutionStart;
    private bool _peakWindowIsExecution;
    private long _baselineMemoryBytes;
    private int _killReason;

    private enum KillReason
    {
        None = 0,
        Deadline,
        Cancelled,
        Violation,
        StartTimeout,
        Retired,
    }

    private WorkerProcess(Process process, WorkerCgroup? cgroup, ILogger logger)
    {
        _process = process;
        _cgroup = cgroup;
        _logger = logger;
        Pid = process.Id;
        _toWorker = process.StandardInput.BaseStream;
        _fromWorker = process.StandardOutput.BaseStream;
        _stderrPump = _stderr.PumpAsync(process.StandardError.BaseStream);
        StartedAt = DateTime.UtcNow;
    }

    public int Pid { get; }
    public DateTime StartedAt { get; }
    public int Executions { get; private set; }

    /// <summary>What the worker applied to itself before reporting ready (and, in a self-test, what each forbidden attempt got).</summary>
    public WireLockdownReport? Lockdown { get; private set; }

    /// <summary>The engine this worker runs, as it described itself in <c>ready</c> (checked against what was asked for).</summary>
    public WireEngine Engine { get; private set; } = null!;

    /// <summary>
    /// How much a worker's memory at rest may grow past what it used when it became ready before it is
    /// replaced. It also bounds the cap of the next execution: a worker that hoards memory between
    /// executions (a leak, or native code that escaped V8) cannot ratchet its cap upwards.
    /// </summary>
    internal const long RestingGrowthAllowanceBytes = 256L << 20;

    /// <summary>True when the worker's cgroup holds much more memory at rest than after start: replace it.</summary>
    public bool HasOutgrownItsBaseline => _cgroup is not null && _baselineMemoryBytes > 0
        && _cgroup.MemoryUsageBytes() > _baselineMemoryBytes + RestingGrowthAllowanceBytes;

    /// <summary>The worker is dead and the kernel's seccomp filter killed it (checked for workers that die while idle).</summary>
    public bool WasKilledBySeccomp => _process.HasExited && WorkerExitClassifier.IsSeccompKill(ExitCodeOrUnknown());

    /// <summary>False once the worker died, was killed, or broke the protocol: it must not be used again.</summary>
    public bool IsUsable => _killReason == 0 && !_process.HasExited;

    public static async Task<WorkerProcess> StartAsync(WorkerLaunchSpec spec, ConfigureMessage configure,
        TimeSpan timeout, ILogger logger, CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        // The cgroup exists before the process: the launcher joins it before anything else runs.
        WorkerCgroup? cgroup = null;
        Process process;
        try
        {
            cgroup = spec.Isolation.Cgroups?.CreateWorkerGroup(spec.MaxTasks, spec.CpuCores,
                MemoryBudgets.StartupCapBytes(configure.PreparedLimits.MemoryMb));
            process = await WorkerSpawner.StartAsync(spec.ToStartInfo(cgroup)).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // No cgroup (disk full, a group removed underneath us), no fork (task limits): a start
            // failure like any other, never an exception that escapes to the caller or the pool.
            cgroup?.Dispose();
            throw new WorkerStartException("the worker could not be started: " + e.Message);
        }
        var worker = new WorkerProcess(process, cgroup, logger);
        try
        {
            try
            {
                await worker.SendAsync(configure).ConfigureAwait(false);
            }
            catch (IOException)
            {
                // Gone before it read anything (the launcher or bubblewrap failed): its stderr says why.
                await worker.WaitForExitAsync().ConfigureAwait(false);
                throw new WorkerStartException($"the worker exited at start (exit code {worker.ExitCodeOrUnknown()}): {Tail(worker._stderr.ToString())}");
            }
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            await using (deadline.Token.Register(() => worker.Kill(KillReason.StartTimeout)).ConfigureAwait(false))
            {
                byte[]? frame = await FrameCodec.ReadFrameAsync(worker._fromWorker, ReadyFrameMaxBytes, CancellationToken.None).ConfigureAwait(false);
                if (frame is null)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    await worker.WaitForExitAsync().ConfigureAwait(false);
                    throw new WorkerStartException(worker._killReason == (int)KillReason.StartTimeout
                        ? $"the worker did not report ready within {timeout.TotalSeconds:F0} s"
                        : $"the worker exited before it was ready (exit code {worker.ExitCodeOrUnknown()}): {Tail(worker._stderr.ToString())}");
                }
                if (FrameCodec.DecodeWorkerMessage(frame) is not ReadyMessage ready)
                {
                    throw new ProtocolViolationException("the first frame was not 'ready'");
                }
                // The engine's self-description is read before any user code ran in this process,
                // but it sets the worker's cgroup cap: hold it to the bounds every engine must keep.
                if (ready.Engine.Name != configure.Engine)
                {
                    throw new ProtocolViolationException($"the worker runs engine '{ready.Engine.Name}', not '{configure.Engine}'");
                }
                if (ready.Engine.Memory.Validate() is { } ruleProblem)
                {
                    throw new ProtocolViolationException("the engine's memory rule is out of bounds: " + ruleProblem);
                }
                if (ready.Engine.OutOfMemoryMarkers.Length > 16 || ready.Engine.OutOfMemoryMarkers.Any(m => m.Length is < 8 or > 200))
                {
                    throw new ProtocolViolationException("the engine's out-of-memory markers are out of bounds");
                }
                worker.Engine = ready.Engine;
                worker.Lockdown = ready.Lockdown;
                worker._baselineMemoryBytes = cgroup?.MemoryUsageBytes() ?? 0;
                // The worker has run no user code yet: its report is trustworthy. A worker that was
                // asked for seccomp and could not install it is not used.
                if (configure.Lockdown.Seccomp && !ready.Lockdown.Seccomp)
                {
                    throw new WorkerStartException("the worker could not install its seccomp filter: " + (ready.Lockdown.Error ?? "no reason given"));
                }
                if (configure.Lockdown.Seccomp && !ready.Lockdown.RlimitsApplied)
                {
                    throw new WorkerStartException("the worker could not set its resource limits");
                }
            }
            Log.WorkerStarted(logger, worker.Pid, started.Elapsed.TotalMilliseconds);
            return worker;
        }
        catch (ProtocolViolationException e)
        {
            Log.ProtocolViolation(logger, worker.Pid, e.Message);
            await worker.DisposeAsync().ConfigureAwait(false);
            throw new WorkerStartException("the worker broke the protocol while starting");
        }
        catch (Exception e) when (e is not WorkerStartException and not OperationCanceledException)
        {
            await worker.DisposeAsync().ConfigureAwait(false);
            throw new WorkerStartException("the worker could not be started: " + e.Message);
        }
        catch
        {
            await worker.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Runs one execution. Never throws for anything the worker or the script does; throws only on cancellation.</summary>
    public async Task<Outcome> ExecuteAsync(ExecuteMessage request, SandboxLimits caps, CancellationToken cancellationToken)
    {
        Executions++;
        var console = new List<ConsoleEntry>();
        long consoleBytes = 0;
        var clock = new Stopwatch();
        TimeSpan cpuAtStart = TimeSpan.Zero;
        bool started = false;
        // The largest frame a well-behaved worker can send: a result or console entry at its cap,
        // JSON-escaped (at most 6 bytes per byte), plus the envelope.
        int maxFrameBytes = (int)Math.Min(int.MaxValue, 6L * Math.Max(Math.Max(caps.MaxResultBytes, request.Limits.MaxConsoleBytes), 3 * caps.MaxErrorTextBytes) + 64 * 1024);

        using var deadline = new CancellationTokenSource();
        await using var onDeadline = deadline.Token.Register(() => Kill(KillReason.Deadline)).ConfigureAwait(false);
        await using var onCancel = cancellationToken.Register(() => Kill(KillReason.Cancelled)).ConfigureAwait(false);
        deadline.CancelAfter(StartOfExecutionTimeout);
        if (_cgroup is not null && !TrySetExecutionMemoryCap(request.Limits.MemoryMb))
        {
            Kill(KillReason.None);
            return Outcome.Failure(OutcomeStatus.InternalError, WireErrorNames.Internal,
                "The worker's memory cap could not be set; the worker was replaced", console: console, usage: new ResourceUsage(0, 0, 0));
        }
        try
        {
            try
            {
                await SendAsync(request).ConfigureAwait(false);
            }
            catch (IOException)
            {
                // The worker is already gone; reading below meets the end of its output and
                // classifies the death.
            }
            while (true)
            {
                byte[]? frame;
                try
                {
                    frame = await FrameCodec.ReadFrameAsync(_fromWorker, maxFrameBytes, CancellationToken.None).ConfigureAwait(false);
                }
                catch (IOException)
                {
                    frame = null;
                }
                if (frame is null)
                {
                    return await DeathOutcomeAsync(request, console, clock, cpuAtStart, started, cancellationToken).ConfigureAwait(false);
                }
                switch (FrameCodec.DecodeWorkerMessage(frame))
                {
                    case StartedMessage s when s.Id == request.Id && !started:
                        started = true;
                        clock.Start();
                        cpuAtStart = CpuTimeOrZero();
                        // The hard deadline: the worker's own watchdog should have stopped the
                        // script at its limit; this catches what it cannot (uninterruptible
                        // built-ins, a hung engine, a compromised worker).
                        deadline.CancelAfter(request.Limits.TimeoutMs + caps.KillGraceMs);
                        break;
                    case ConsoleMessage c when c.Id == request.Id && started:
                        long bytes = Encoding.UTF8.GetByteCount(c.Text);
                        consoleBytes += bytes;
                        if (!WireStatus.ConsoleLevels.Contains(c.Level)
                            || console.Count + 1 > request.Limits.MaxConsoleEntries
                            || consoleBytes > request.Limits.MaxConsoleBytes)
                        {
                            throw new ProtocolViolationException("console output beyond the execution's limits");
                        }
                        console.Add(new ConsoleEntry(c.Level, c.Text));
                        break;
                    case ResultMessage r when r.Id == request.Id && started:
                        return ToOutcome(r, caps, console);
                    default:
                        throw new ProtocolViolationException("an unexpected frame (wrong type, order or execution id)");
                }
            }
        }
        catch (ProtocolViolationException e)
        {
            Log.ProtocolViolation(_logger, Pid, e.Message);
            Kill(KillReason.Violation);
            return Outcome.Failure(OutcomeStatus.InternalError, WireErrorNames.Internal,
                "The worker broke the protocol and was stopped", console: console, usage: new ResourceUsage(clock.Elapsed.TotalMilliseconds, 0, 0));
        }
    }

    private static Outcome ToOutcome(ResultMessage r, SandboxLimits caps, List<ConsoleEntry> console)
    {
        if (!OutcomeCodes.TryParseStatus(r.Status, out var status) || status == OutcomeStatus.InvalidRequest)
        {
            throw new ProtocolViolationException($"unknown status");
        }
        var u = r.Usage;
        if (!double.IsFinite(u.WallMs) || !double.IsFinite(u.CpuMs) || u.WallMs < 0 || u.CpuMs < 0 || u.MemoryBytes < 0)
        {
            throw new ProtocolViolationException("usage out of range");
        }
        var usage = new ResourceUsage(u.WallMs, u.CpuMs, u.MemoryBytes);
        if (status == OutcomeStatus.Ok)
        {
            if (r.Result is null || r.Error is not null)
            {
                throw new ProtocolViolationException("an ok result must carry a result and no error");
            }
            byte[] json = Encoding.UTF8.GetBytes(r.Result);
            if (json.Length > caps.MaxResultBytes && json.Length > 0)
            {
                // The worker checks the same bound; getting past it means the worker is not ours.
                throw new ProtocolViolationException("result larger than the limit");
            }
            if (!IsExactlyOneJsonValue(json))
            {
                throw new ProtocolViolationException("result is not exactly one JSON value");
            }
            return new Outcome { Status = status, ResultJson = r.Result, Console = console, Usage = usage };
        }
        if (r.Result is not null || r.Error is null)
        {
            throw new ProtocolViolationException("a failed result must carry an error and no result");
        }
        LimitKind? limit = null;
        if (r.Error.Limit is not null)
        {
            if (!OutcomeCodes.TryParseLimit(r.Error.Limit, out var parsed))
            {
                throw new ProtocolViolationException("unknown limit");
            }
            limit = parsed;
        }
        var error = new ExecutionError(
            Utf8Text.Truncate(r.Error.Name, caps.MaxErrorTextBytes),
            Utf8Text.Truncate(r.Error.Message, caps.MaxErrorTextBytes),
            Utf8Text.Truncate(r.Error.Stack, caps.MaxErrorTextBytes),
            limit);
        return new Outcome { Status = status, Error = error, Console = console, Usage = usage };
    }

    internal static bool IsExactlyOneJsonValue(byte[] json)
    {
        // Deep nesting is legal JSON that JSON.stringify can produce; the reader's depth tracking
        // is a bit stack, so a large MaxDepth costs nothing.
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 1_000_000, CommentHandling = JsonCommentHandling.Disallow, AllowTrailingCommas = false });
        try
        {
            if (!reader.Read())
            {
                return false;
            }
            reader.Skip();
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private async Task<Outcome> DeathOutcomeAsync(ExecuteMessage request, List<ConsoleEntry> console, Stopwatch clock,
        TimeSpan cpuAtStart, bool started, CancellationToken cancellationToken)
    {
        // Usage ends when the worker's output ended, not after the time it takes to reap it.
        clock.Stop();
        TimeSpan cpuAtDeath = CpuTimeOrZero();
        Kill(KillReason.None);
        await WaitForExitAsync().ConfigureAwait(false);
        var usage = new ResourceUsage(clock.Elapsed.TotalMilliseconds,
            Math.Max(0, (cpuAtDeath - cpuAtStart).TotalMilliseconds), 0);
        switch ((KillReason)_killReason)
        {
            case KillReason.Cancelled:
                throw new OperationCanceledException("The execution was cancelled; its worker was killed.", cancellationToken);
            case KillReason.Deadline when started:
                Log.DeadlineKill(_logger, Pid, request.Limits.TimeoutMs);
                return Outcome.Failure(OutcomeStatus.Timeout, WireErrorNames.Timeout,
                    LimitMessages.WallTimeKilled(request.Limits.TimeoutMs),
                    LimitKind.Wall, console, usage);
            case KillReason.Deadline:
                return Outcome.Failure(OutcomeStatus.InternalError, WireErrorNames.Internal,
                    "The worker did not start the execution in time and was killed", null, console, usage);
            case KillReason.Retired:
                return Outcome.Failure(OutcomeStatus.InternalError, WireErrorNames.Internal,
                    "The sandbox was disposed while the execution ran", null, console, usage);
        }
        bool oomKilled = _cgroup is not null && _cgroup.OomKills() > _oomKillsAtStart;
        string stderr = _stderr.ToString();
        long? growth = MemoryGrowthDuringExecution();
        bool? nearBudget = growth is { } grown ? grown >= Engine.Memory.NearBudgetBytes(request.Limits.MemoryMb) : null;
        var (status, limit, message) = WorkerExitClassifier.Classify(ExitCodeOrUnknown(), stderr, oomKilled, nearBudget, Engine.OutOfMemoryMarkers);
        if (status == OutcomeStatus.InternalError && WorkerExitClassifier.IsSeccompKill(ExitCodeOrUnknown()))
        {
            Log.SeccompViolation(_logger, Pid, Sanitize(Tail(stderr)));
        }
        else if (status == OutcomeStatus.InternalError && nearBudget == false
            && (WorkerExitClassifier.IsEngineOutOfMemoryReport(stderr, Engine.OutOfMemoryMarkers) || ExitCodeOrUnknown() == WorkerExitCodes.MemoryLimit))
        {
            Log.ImplausibleOutOfMemory(_logger, Pid, growth ?? 0, request.Limits.MemoryMb, Sanitize(Tail(stderr)));
        }
        else
        {
            Log.WorkerDied(_logger, Pid, message, Sanitize(Tail(_stderr.ToString())));
        }
        string name = status switch
        {
            OutcomeStatus.MemoryLimit => WireErrorNames.MemoryLimit,
            OutcomeStatus.Timeout => WireErrorNames.Timeout,
            OutcomeStatus.OutputLimit => WireErrorNames.OutputLimit,
            _ => WireErrorNames.Internal,
        };
        return Outcome.Failure(status, name, message, limit, console, usage);
    }

    private async Task SendAsync(HostMessage message)
    {
        await _toWorker.WriteAsync(FrameCodec.Encode(message)).ConfigureAwait(false);
        await _toWorker.FlushAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Caps the worker's cgroup at what it uses now plus this execution's budget (see
    /// <see cref="MemoryBudgets"/>), and remembers the OOM-kill count so that a kill during the
    /// execution is recognised. False when the cap cannot be written: the worker is not used then.
    /// </summary>
    private bool TrySetExecutionMemoryCap(int memoryMb)
    {
        try
        {
            long usage = _cgroup!.MemoryUsageBytes();
            // The baseline bounds the cap only when it was read (a failed read gives 0).
            long atRest = _baselineMemoryBytes > 0 ? Math.Min(usage, _baselineMemoryBytes + RestingGrowthAllowanceBytes) : usage;
            _cgroup.SetMemoryLimit(Engine.Memory.CgroupCapBytes(atRest, memoryMb));
            _oomKillsAtStart = _cgroup.OomKills();
            _memoryAtExecutionStart = usage;
            _peakWindowIsExecution = _cgroup.ResetPeakMemoryUsage();
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.CgroupWriteFailed(_logger, Pid, e.Message);
            return false;
        }
    }

    /// <summary>
    /// The host's own measure of how much the worker grew during this execution, from the cgroup's peak
    /// usage since the execution started (where the kernel can reset it; otherwise since the group was
    /// made, an upper bound). Null without a cgroup: the host then has no measure of its own.
    /// </summary>
    private long? MemoryGrowthDuringExecution()
    {
        long peak = _cgroup?.PeakMemoryUsageBytes() ?? 0;
        if (peak <= 0)
        {
            return null;
        }
        return _peakWindowIsExecution ? peak - _memoryAtExecutionStart : peak - Math.Min(_memoryAtExecutionStart, _baselineMemoryBytes);
    }

    private TimeSpan CpuTimeOrZero()
    {
        // Through bubblewrap the host's child is bwrap, not the worker: the cgroup counts every
        // thread of the worker (V8's helpers included).
        if (_cgroup?.CpuMs() is double cgroupMs)
        {
            return TimeSpan.FromMilliseconds(cgroupMs);
        }
        try
        {
            return _process.TotalProcessorTime;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            return TimeSpan.Zero;
        }
    }

    private int ExitCodeOrUnknown()
    {
        try
        {
            return _process.HasExited ? _process.ExitCode : -1;
        }
        catch (InvalidOperationException)
        {
            return -1;
        }
    }

    private void Kill(KillReason reason)
    {
        if (reason != KillReason.None)
        {
            Interlocked.CompareExchange(ref _killReason, (int)reason, 0);
        }
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            // Already gone.
        }
        // Everything in the worker's cgroup, not just the process the host started.
        _cgroup?.KillAll();
    }

    private async Task WaitForExitAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Kill(KillReason.None);
        }
        catch (InvalidOperationException)
        {
            // Disposed concurrently (the sandbox is shutting down): it was killed first.
        }
        // stderr carries the reason for a fatal abort; give the pump a moment to drain it.
        await Task.WhenAny(_stderrPump, Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false);
    }

    /// <summary>Kills the worker for good (no graceful path: a worker holds nothing worth saving).</summary>
    public async ValueTask RetireAsync(string reason)
    {
        Log.WorkerRetired(_logger, Pid, reason);
        bool foundDead = !IsUsable;
        var killedFor = (KillReason)_killReason;
        Kill(KillReason.Retired);
        if (foundDead)
        {
            // Nothing else reports a death outside an execution's path; operators need its cause.
            await WaitForExitAsync().ConfigureAwait(false);
            Log.WorkerFoundDead(_logger, Pid, ExitCodeOrUnknown(), killedFor.ToString(), Sanitize(Tail(_stderr.ToString())));
        }
        await DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        Kill(KillReason.Retired);
        await WaitForExitAsync().ConfigureAwait(false);
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _process.Dispose();
            _cgroup?.Dispose();
        }
    }

    private int _disposed;

    /// <summary>Worker stderr is attacker-influenced: keep it printable before it reaches a log.</summary>
    private static string Sanitize(string text) =>
        new(text.Select(c => char.IsControl(c) ? ' ' : c).ToArray());

    private static string Tail(string text) => text.Length <= 2000 ? text.Trim() : text[^2000..].Trim();
}

/// <summary>A worker could not be started.</summary>
internal sealed class WorkerStartException(string message) : Exception(message);
