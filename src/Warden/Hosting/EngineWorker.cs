using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Warden.Protocol;

namespace Warden.Hosting;

/// <summary>
/// A started worker as the host uses it: one process running one engine (as it described itself in
/// <c>ready</c>), with its memory policy, fed executions one at a time. What the pool needs to know
/// about it is <see cref="IPooledWorker"/>.
/// </summary>
internal sealed class EngineWorker : IPooledWorker, IAsyncDisposable
{
    private readonly WorkerProcess _process;
    private readonly WorkerMemoryPolicy _memory;
    private readonly ILogger _logger;

    private EngineWorker(WorkerProcess process, ReadyMessage ready, ILogger logger)
    {
        _process = process;
        _logger = logger;
        Engine = ready.Engine;
        Lockdown = ready.Lockdown;
        _memory = new WorkerMemoryPolicy(process.Cgroup, ready.Engine.Memory);
    }

    public int Pid => _process.Pid;
    public DateTime StartedAt => _process.StartedAt;
    public int Executions { get; private set; }

    /// <summary>The engine this worker runs, as it described itself in <c>ready</c> (checked against what was asked for).</summary>
    public WireEngine Engine { get; }

    public string EngineName => Engine.Name;

    /// <summary>
    /// What the worker applied to itself before reporting ready (and, in a self-test, what each forbidden
    /// attempt got). The schema requires the member but lets it be null: readers must not assume one.
    /// </summary>
    public WireLockdownReport? Lockdown { get; }

    public bool IsUsable => _process.IsAlive;

    public bool HasOutgrownItsBaseline => _memory.HasOutgrownItsBaseline;

    public bool WasKilledBySeccomp => _process.HasExited && WorkerExitClassifier.IsSeccompKill(_process.ExitCodeOrUnknown());

    /// <summary>Starts a worker for <c>configure.Engine</c> and waits for its checked <c>ready</c>.</summary>
    /// <exception cref="WorkerStartException">It could not be started, or broke the protocol while starting.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the process was killed.</exception>
    public static async Task<EngineWorker> StartAsync(WorkerLaunchSpec spec, ConfigureMessage configure,
        TimeSpan timeout, ILogger logger, CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        var process = await WorkerProcess.SpawnAsync(spec, MemoryBudgets.StartupCapBytes(configure.PreparedLimits.MemoryMb)).ConfigureAwait(false);
        try
        {
            var ready = await WorkerHandshake.RunAsync(process, configure, timeout, cancellationToken).ConfigureAwait(false);
            var worker = new EngineWorker(process, ready, logger);
            Log.WorkerStarted(logger, worker.Pid, started.Elapsed.TotalMilliseconds);
            return worker;
        }
        catch (ProtocolViolationException e)
        {
            Log.ProtocolViolation(logger, process.Pid, e.Message);
            await process.DisposeAsync().ConfigureAwait(false);
            throw new WorkerStartException("the worker broke the protocol while starting");
        }
        catch (Exception e) when (e is not WorkerStartException and not OperationCanceledException)
        {
            await process.DisposeAsync().ConfigureAwait(false);
            throw new WorkerStartException("the worker could not be started: " + e.Message);
        }
        catch
        {
            await process.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Runs one execution (see <see cref="ExecutionExchange"/>); the outcome names this worker and its engine.</summary>
    public async Task<Outcome> ExecuteAsync(ExecuteMessage request, SandboxLimits caps, CancellationToken cancellationToken,
        HostCallScope? hostCalls = null)
    {
        Executions++;
        var outcome = await ExecutionExchange.RunAsync(_process, _memory, Engine, request, caps, hostCalls, _logger, cancellationToken).ConfigureAwait(false);
        return outcome with { WorkerPid = Pid, Engine = Engine.Name };
    }

    /// <summary>Kills the worker for good (no graceful path: a worker holds nothing worth saving).</summary>
    public async ValueTask RetireAsync(string reason)
    {
        Log.WorkerRetired(_logger, Pid, reason);
        bool foundDead = !_process.IsAlive && !_process.EndReported;
        var killedFor = _process.KillReason;
        _process.Kill(WorkerKillReason.Retired);
        if (foundDead)
        {
            // Nothing else reported this end (a death between executions, or a kill that raced an
            // answer already sent); operators need its cause.
            await _process.WaitForExitAsync().ConfigureAwait(false);
            Log.WorkerFoundDead(_logger, Pid, _process.ExitCodeOrUnknown(), killedFor.ToString(),
                WorkerProcess.Sanitize(WorkerProcess.Tail(_process.Stderr)));
        }
        await _process.DisposeAsync().ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
