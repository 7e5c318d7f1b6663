using Microsoft.Extensions.Logging;
using Warden.Protocol;

namespace Warden.Hosting;

/// <summary>
/// Worker processes of one sandbox: at most <see cref="SandboxOptions.MaxWorkers"/> executing at once,
/// plus up to <see cref="SandboxOptions.SpareWorkers"/> started but unassigned. Each serves one
/// isolation key at a time and is never handed from one key to another (a new key gets a fresh
/// process: an unassigned spare when one is ready). Workers are recycled after N executions,
/// T seconds, or any violation. Waiting executions are served first come, first served.
/// <para>
/// Why spares sit on top of <c>MaxWorkers</c>: when every slot is busy, a worker retiring (after N
/// executions, or a limit) would otherwise be replaced on the request path — a process start-up
/// (~1 s) in some request's latency. With the spare outside the execution slots, its replacement
/// is already warm; the extra cost is one idle process.
/// </para>
/// </summary>
internal sealed class WorkerPool : IAsyncDisposable
{
    private readonly object _gate = new();
    private readonly SandboxOptions _options;
    private readonly WorkerLaunchSpec _spec;
    private readonly ConfigureMessage _configure;
    private readonly ILogger _logger;
    private readonly List<IdleWorker> _idle = [];
    private readonly LinkedList<Waiter> _waiters = new();
    private readonly Dictionary<string, long> _retired = new(StringComparer.Ordinal);
    private long _started;
    private readonly HashSet<WorkerProcess> _all = [];
    private readonly HashSet<Task> _background = [];
    private readonly Timer _maintenance;
    private int _alive;            // started or starting; bounded by MaxWorkers + SpareWorkers
    private int _busy;             // granted to an execution (ready or starting for it); bounded by MaxWorkers
    private int _startingSpares;
    private DateTime _lastSpareFailure = DateTime.MinValue;
    private static readonly TimeSpan SpareRetryDelay = TimeSpan.FromSeconds(30);
    private bool _disposed;

    private sealed record IdleWorker(WorkerProcess Worker, string? Key);

    /// <summary>Either a ready worker, or permission to start a new one (a slot already counted in _alive).</summary>
    private sealed record Grant(WorkerProcess? Worker);

    private sealed class Waiter(string key)
    {
        public string Key { get; } = key;
        public TaskCompletionSource<Grant> Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public WorkerPool(SandboxOptions options, WorkerLaunchSpec spec, ConfigureMessage configure, ILogger logger)
    {
        _options = options;
        _spec = spec;
        _configure = configure;
        _logger = logger;
        lock (_gate)
        {
            EnsureSpares();
        }
        // Idle workers age even when nothing asks for one: retire them on a timer too.
        var period = TimeSpan.FromTicks(Math.Clamp(options.MaxWorkerLifetime.Ticks / 2, TimeSpan.FromMilliseconds(250).Ticks, TimeSpan.FromSeconds(30).Ticks));
        _maintenance = new Timer(_ => Maintain(), null, period, period);
    }

    private void Maintain()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            RetireExpiredIdle();
            Pump();
            EnsureSpares();
        }
    }

    public IReadOnlyList<int> WorkerPids
    {
        get
        {
            lock (_gate)
            {
                return [.. _all.Select(w => w.Pid)];
            }
        }
    }

    /// <summary>A consistent snapshot of the pool's counters (for metrics).</summary>
    public SandboxStatistics Statistics()
    {
        lock (_gate)
        {
            return new SandboxStatistics(_started, new Dictionary<string, long>(_retired, StringComparer.Ordinal),
                _waiters.Count, _all.Count - _idle.Count, _idle.Count);
        }
    }

    /// <summary>Workers running an execution now (for tests that kill one from outside).</summary>
    public IReadOnlyList<int> BusyWorkerPids
    {
        get
        {
            lock (_gate)
            {
                return [.. _all.Where(w => !_idle.Exists(i => i.Worker == w)).Select(w => w.Pid)];
            }
        }
    }

    /// <summary>Waits until every spare worker that is starting has started (or failed to).</summary>
    public async Task WarmUpAsync()
    {
        Task[] pending;
        lock (_gate)
        {
            pending = [.. _background];
        }
        await Task.WhenAll(pending).ConfigureAwait(false);
    }

    public async Task<WorkerProcess> AcquireAsync(string key, CancellationToken cancellationToken)
    {
        Grant? grant;
        Waiter? waiter = null;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            grant = TryGrant(key);
            if (grant is null)
            {
                if (_waiters.Count >= _options.MaxQueuedExecutions)
                {
                    throw new SandboxOverloadedException();
                }
                waiter = new Waiter(key);
                _waiters.AddLast(waiter);
            }
        }
        if (waiter is not null)
        {
            try
            {
                grant = await waiter.Granted.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                lock (_gate)
                {
                    if (_waiters.Remove(waiter))
                    {
                        throw;
                    }
                }
                // Granted at the same moment as cancelled: hand the grant back, then give up.
                GiveBack(await waiter.Granted.Task.ConfigureAwait(false), key);
                throw;
            }
        }
        if (grant!.Worker is { } ready)
        {
            return ready;
        }
        try
        {
            var worker = await WorkerProcess.StartAsync(_spec, _configure, _options.WorkerStartTimeout, _logger, cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                if (_disposed)
                {
                    _alive--;
                    _busy--;
                    RetireInBackground(worker, RetirementReason.Disposed);
                    throw new ObjectDisposedException(nameof(Sandbox));
                }
                _all.Add(worker);
                _started++;
            }
            return worker;
        }
        catch (Exception e) when (e is not ObjectDisposedException)
        {
            if (e is WorkerStartException)
            {
                Log.WorkerStartFailed(_logger, e.Message);
            }
            lock (_gate)
            {
                _alive--;
                _busy--;
                Pump();
                EnsureSpares();
            }
            throw;
        }
    }

    /// <summary>Returns a worker after an execution. Unusable, worn-out or violated workers are retired.</summary>
    public void Release(WorkerProcess worker, string key, bool reusable)
    {
        lock (_gate)
        {
            _busy--;
            if (_disposed)
            {
                // DisposeAsync retired every worker it knew (busy ones too); count each only once.
                if (_all.Remove(worker))
                {
                    RetireInBackground(worker, RetirementReason.Disposed);
                }
                return;
            }
            RetirementReason? retireReason = !reusable ? RetirementReason.LimitOrFailure
                : !worker.IsUsable ? RetirementReason.Died
                : worker.Executions >= _options.MaxExecutionsPerWorker ? RetirementReason.ExecutionCount
                : DateTime.UtcNow - worker.StartedAt >= _options.MaxWorkerLifetime ? RetirementReason.Lifetime
                : null;
            if (retireReason is { } reason)
            {
                Retire(worker, reason);
            }
            else
            {
                _idle.Add(new IdleWorker(worker, key));
            }
            Pump();
            EnsureSpares();
        }
    }

    private void GiveBack(Grant grant, string key)
    {
        if (grant.Worker is { } worker)
        {
            Release(worker, key, reusable: true);
            return;
        }
        lock (_gate)
        {
            _alive--;
            _busy--;
            Pump();
            EnsureSpares();
        }
    }

    // ---- everything below runs under _gate ----

    private Grant? TryGrant(string key)
    {
        RetireExpiredIdle();
        if (_busy >= _options.MaxWorkers)
        {
            return null;
        }
        int own = _idle.FindIndex(w => w.Key == key);
        if (own >= 0)
        {
            return Take(own);
        }
        int spare = _idle.FindIndex(w => w.Key is null);
        if (spare >= 0)
        {
            var grant = Take(spare);
            EnsureSpares();
            return grant;
        }
        if (_alive < _options.MaxWorkers + _options.SpareWorkers)
        {
            _alive++;
            _busy++;
            return new Grant(null);
        }
        if (_idle.Count > 0)
        {
            // A worker never passes to another key: replace an idle worker of another key with a
            // fresh process. The slot it held is reused, so _alive is unchanged.
            var other = _idle[0];
            _idle.RemoveAt(0);
            _all.Remove(other.Worker);
            RetireInBackground(other.Worker, RetirementReason.OtherKey);
            _busy++;
            return new Grant(null);
        }
        return null;
    }

    /// <summary>Idle workers age too (and may have died): they are retired, never handed out.</summary>
    private void RetireExpiredIdle()
    {
        for (int i = _idle.Count - 1; i >= 0; i--)
        {
            var idle = _idle[i].Worker;
            // Checked when a worker is about to be handed out, not when it is returned: it tears down
            // a large isolate just after sending its result.
            if (!idle.IsUsable || DateTime.UtcNow - idle.StartedAt >= _options.MaxWorkerLifetime || idle.HasOutgrownItsBaseline)
            {
                _idle.RemoveAt(i);
                if (idle.WasKilledBySeccomp)
                {
                    // Nothing of the host's asked it to do anything: native code in it made a forbidden call.
                    Log.SeccompViolation(_logger, idle.Pid, "(died while idle)");
                }
                Retire(idle, !idle.IsUsable ? RetirementReason.Died : idle.HasOutgrownItsBaseline ? RetirementReason.MemoryAtRest : RetirementReason.Lifetime);
            }
        }
    }

    private Grant Take(int index)
    {
        var worker = _idle[index].Worker;
        _idle.RemoveAt(index);
        _busy++;
        return new Grant(worker);
    }

    private void Pump()
    {
        while (_waiters.First is { } first)
        {
            var grant = TryGrant(first.Value.Key);
            if (grant is null)
            {
                return;
            }
            _waiters.RemoveFirst();
            first.Value.Granted.SetResult(grant);
        }
    }

    private void Retire(WorkerProcess worker, RetirementReason reason)
    {
        _alive--;
        _all.Remove(worker);
        RetireInBackground(worker, reason);
    }

    /// <summary>Every retirement goes through here (called under the gate), so the statistics count them all.</summary>
    private void RetireInBackground(WorkerProcess worker, RetirementReason reason)
    {
        string label = reason.Label();
        _retired[label] = _retired.GetValueOrDefault(label) + 1;
        Background(worker.RetireAsync(reason.Text()).AsTask());
    }

    private void EnsureSpares()
    {
        // A spare that failed to start is not retried for 30 s — not on every tick, nor after every
        // execution: a worker that cannot start would otherwise be restarted in a tight loop. Until
        // then an acquisition starts one on demand and reports why it failed.
        if (_disposed || DateTime.UtcNow - _lastSpareFailure < SpareRetryDelay)
        {
            return;
        }
        int spares = _idle.Count(w => w.Key is null);
        while (spares + _startingSpares < _options.SpareWorkers && _alive < _options.MaxWorkers + _options.SpareWorkers)
        {
            _alive++;
            _startingSpares++;
            Background(StartSpareAsync());
        }
    }

    private async Task StartSpareAsync()
    {
        await Task.Yield();
        WorkerProcess? worker = null;
        try
        {
            worker = await WorkerProcess.StartAsync(_spec, _configure, _options.WorkerStartTimeout, _logger, CancellationToken.None).ConfigureAwait(false);
        }
        catch (WorkerStartException e)
        {
            Log.WorkerStartFailed(_logger, e.Message);
        }
        lock (_gate)
        {
            _startingSpares--;
            if (worker is null)
            {
                _lastSpareFailure = DateTime.UtcNow;
                // Not retried here: a worker that cannot start would otherwise be restarted in a
                // tight loop. The next acquisition starts one on demand and reports the failure.
                _alive--;
                Pump();
                return;
            }
            if (_disposed)
            {
                _alive--;
                RetireInBackground(worker, RetirementReason.Disposed);
                return;
            }
            _all.Add(worker);
            _started++;
            _idle.Add(new IdleWorker(worker, null));
            Pump();
        }
    }

    private void Background(Task task)
    {
        _background.Add(task);
        task.ContinueWith(t =>
        {
            lock (_gate)
            {
                _background.Remove(t);
            }
        }, TaskScheduler.Default);
    }

    public async ValueTask DisposeAsync()
    {
        Task[] pending;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            _maintenance.Dispose();
            foreach (var waiter in _waiters)
            {
                waiter.Granted.TrySetException(new ObjectDisposedException(nameof(Sandbox)));
            }
            _waiters.Clear();
            _idle.Clear();
            // Busy workers too: disposing the sandbox stops every worker it started.
            foreach (var worker in _all)
            {
                RetireInBackground(worker, RetirementReason.Disposed);
            }
            _all.Clear();
            pending = [.. _background];
        }
        await Task.WhenAll(pending).ConfigureAwait(false);
    }
}
