using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
using Warden.Protocol;

namespace Warden.Hosting;

/// <summary>
/// The frame sequence of one execution: arm the memory cap, send <c>execute</c>, then read
/// <c>started</c>, any <c>console</c> entries and one <c>result</c>, under a deadline the host
/// enforces by killing the worker. SECURITY: every frame is attacker-controlled: its length is
/// capped before allocating, its type, order and execution id must be what the sequence expects,
/// and console output is held to the execution's limits; any breach kills the worker and is logged
/// as a security event. When the worker's output ends, its death is classified from facts the host
/// gathered itself (its kill reason, exit code, cgroup counters), not from what the worker claims.
/// </summary>
internal sealed class ExecutionExchange
{
    /// <summary>How long a worker may take from receiving an execution to starting user code (isolate creation included).</summary>
    private static readonly TimeSpan StartOfExecutionTimeout = TimeSpan.FromSeconds(10);

    private readonly WorkerProcess _process;
    private readonly WorkerMemoryPolicy _memory;
    private readonly WireEngine _engine;
    private readonly ExecuteMessage _request;
    private readonly SandboxLimits _caps;
    private readonly ILogger _logger;
    private readonly HostCallDispatcher? _host;
    private readonly List<ConsoleEntry> _console = [];
    private readonly Stopwatch _clock = new();
    private long _consoleBytes;
    private TimeSpan _cpuAtStart = TimeSpan.Zero;
    private bool _started;

    private ExecutionExchange(WorkerProcess process, WorkerMemoryPolicy memory, WireEngine engine, ExecuteMessage request,
        SandboxLimits caps, HostCallScope? hostCalls, ILogger logger)
    {
        _process = process;
        _memory = memory;
        _engine = engine;
        _request = request;
        _caps = caps;
        _logger = logger;
        // Only an execution granted host functions can make host calls: without a grant a hostCall frame is a breach.
        if (request.Host is { } grant && hostCalls is not null)
        {
            _host = new HostCallDispatcher(process, request.Id, grant, hostCalls, caps.MaxErrorTextBytes, logger);
        }
    }

    /// <summary>Runs one execution. Never throws for anything the worker or the script does; throws only on cancellation.</summary>
    public static Task<Outcome> RunAsync(WorkerProcess process, WorkerMemoryPolicy memory, WireEngine engine, ExecuteMessage request,
        SandboxLimits caps, HostCallScope? hostCalls, ILogger logger, CancellationToken cancellationToken) =>
        new ExecutionExchange(process, memory, engine, request, caps, hostCalls, logger).RunAsync(cancellationToken);

    private async Task<Outcome> RunAsync(CancellationToken cancellationToken)
    {
        if (_host is null)
        {
            return await ExchangeAsync(cancellationToken).ConfigureAwait(false);
        }
        Outcome outcome;
        try
        {
            outcome = await ExchangeAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Pending calls are cancelled and answered no more, whatever ended the execution.
            await _host.EndAsync().ConfigureAwait(false);
        }
        // Counted by the host from its own frames and clock, never taken from the worker.
        return outcome with { Usage = outcome.Usage with { HostCalls = _host.Calls, HostMs = _host.HostMs } };
    }

    private async Task<Outcome> ExchangeAsync(CancellationToken cancellationToken)
    {
        // The largest frame a well-behaved worker can send: a result or console entry at its cap,
        // JSON-escaped (at most 6 bytes per byte), plus the envelope; or a host call at its cap.
        long maxFrame = 6L * Math.Max(Math.Max(_caps.MaxResultBytes, _request.Limits.MaxConsoleBytes), 3 * _caps.MaxErrorTextBytes) + 64 * 1024;
        if (_request.Host is { } grant)
        {
            maxFrame = Math.Max(maxFrame, HostCallDispatcher.MaxCallFrameBytes(grant));
        }
        int maxFrameBytes = (int)Math.Min(int.MaxValue, maxFrame);

        // A worker whose answer already waits unread in its pipe is not killed for the host's own lag
        // (ExecutionDeadline); the wait for the host to read it is bounded by the kill grace.
        using var deadline = new ExecutionDeadline(() => _process.Kill(WorkerKillReason.Deadline), () => _process.HasUnreadOutput,
            TimeSpan.FromMilliseconds(_caps.KillGraceMs));
        await using var onCancel = cancellationToken.Register(() => _process.Kill(WorkerKillReason.Cancelled)).ConfigureAwait(false);
        deadline.Arm(StartOfExecutionTimeout);
        if (!_memory.TryArmForExecution(_request.Limits.MemoryMb, out string? capFailure))
        {
            Log.CgroupWriteFailed(_logger, _process.Pid, capFailure!);
            _process.EndReported = true;
            _process.Kill();
            return WorkerOutcomes.MemoryCapNotSet(_console);
        }
        try
        {
            try
            {
                await _process.SendAsync(_request).ConfigureAwait(false);
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
                    frame = await _process.ReadFrameAsync(maxFrameBytes).ConfigureAwait(false);
                }
                catch (IOException)
                {
                    frame = null;
                }
                if (frame is null)
                {
                    return await DeathOutcomeAsync(cancellationToken).ConfigureAwait(false);
                }
                switch (FrameCodec.DecodeWorkerMessage(frame))
                {
                    case StartedMessage s when s.Id == _request.Id && !_started:
                        _started = true;
                        _clock.Start();
                        _cpuAtStart = _process.CpuTimeOrZero();
                        // The hard deadline: the worker's own watchdog should have stopped the
                        // script at its limit; this catches what it cannot (uninterruptible
                        // built-ins, a hung engine, a compromised worker).
                        deadline.Arm(TimeSpan.FromMilliseconds(_request.Limits.TimeoutMs + _caps.KillGraceMs));
                        break;
                    case ConsoleMessage c when c.Id == _request.Id && _started:
                        AddConsoleEntry(c);
                        break;
                    case HostCallMessage h when h.Id == _request.Id && _started && _host is not null:
                        _host.Accept(h);
                        break;
                    case ResultMessage r when r.Id == _request.Id && _started:
                        return WorkerOutcomes.FromResult(r, _caps, _console, EngineCatalog.CountsFuel(_engine.Name));
                    default:
                        throw new ProtocolViolationException("an unexpected frame (wrong type, order or execution id)");
                }
            }
        }
        catch (ProtocolViolationException e)
        {
            Log.ProtocolViolation(_logger, _process.Pid, e.Message);
            _process.EndReported = true;
            _process.Kill(WorkerKillReason.Violation);
            return WorkerOutcomes.ProtocolBroken(_console, _clock.Elapsed.TotalMilliseconds);
        }
    }

    private void AddConsoleEntry(ConsoleMessage c)
    {
        // A null level or text never gets here: the protocol's schema refuses JSON null for non-nullable members.
        _consoleBytes += Encoding.UTF8.GetByteCount(c.Text);
        if (!WireStatus.ConsoleLevels.Contains(c.Level)
            || _console.Count + 1 > _request.Limits.MaxConsoleEntries
            || _consoleBytes > _request.Limits.MaxConsoleBytes)
        {
            throw new ProtocolViolationException("console output beyond the execution's limits");
        }
        _console.Add(new ConsoleEntry(c.Level, c.Text));
    }

    private async Task<Outcome> DeathOutcomeAsync(CancellationToken cancellationToken)
    {
        // Usage ends when the worker's output ended, not after the time it takes to reap it.
        _clock.Stop();
        _process.EndReported = true;
        TimeSpan cpuAtDeath = _process.CpuTimeOrZero();
        _process.Kill();
        await _process.WaitForExitAsync().ConfigureAwait(false);
        var usage = new ResourceUsage(_clock.Elapsed.TotalMilliseconds,
            Math.Max(0, (cpuAtDeath - _cpuAtStart).TotalMilliseconds), 0);
        switch (_process.KillReason)
        {
            case WorkerKillReason.Cancelled:
                throw new OperationCanceledException("The execution was cancelled; its worker was killed.", cancellationToken);
            case WorkerKillReason.Deadline when _started:
                Log.DeadlineKill(_logger, _process.Pid, _request.Limits.TimeoutMs);
                return WorkerOutcomes.HardDeadline(_request.Limits.TimeoutMs, _console, usage);
            case WorkerKillReason.Deadline:
                return WorkerOutcomes.NotStartedInTime(_console, usage);
            case WorkerKillReason.Retired:
                return WorkerOutcomes.DisposedDuringExecution(_console, usage);
        }
        bool oomKilled = _memory.WasOomKilledDuringExecution();
        string stderr = _process.Stderr;
        long? growth = _memory.GrowthDuringExecution();
        bool? nearBudget = _memory.IsNearBudget(growth, _request.Limits.MemoryMb);
        int exitCode = _process.ExitCodeOrUnknown();
        var (status, limit, message) = WorkerExitClassifier.Classify(exitCode, stderr, oomKilled, nearBudget, _engine.OutOfMemoryMarkers);
        if (status == OutcomeStatus.InternalError && WorkerExitClassifier.IsSeccompKill(exitCode))
        {
            Log.SeccompViolation(_logger, _process.Pid, WorkerProcess.Sanitize(WorkerProcess.Tail(stderr)));
        }
        else if (status == OutcomeStatus.InternalError && nearBudget == false
            && (WorkerExitClassifier.IsEngineOutOfMemoryReport(stderr, _engine.OutOfMemoryMarkers) || exitCode == WorkerExitCodes.MemoryLimit))
        {
            // The worker claims an out-of-memory its own cgroup does not show: possibly a crash dressed up as a limit.
            Log.ImplausibleOutOfMemory(_logger, _process.Pid, growth ?? 0, _request.Limits.MemoryMb, WorkerProcess.Sanitize(WorkerProcess.Tail(stderr)));
        }
        else
        {
            Log.WorkerDied(_logger, _process.Pid, message, WorkerProcess.Sanitize(WorkerProcess.Tail(_process.Stderr)));
        }
        return WorkerOutcomes.FromDeath(status, limit, message, _console, usage);
    }
}
