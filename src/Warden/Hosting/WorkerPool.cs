using Microsoft.Extensions.Logging;

namespace Warden.Hosting;

/// <summary>
/// Worker processes of one sandbox: at most <see cref="SandboxOptions.MaxWorkers"/> executing at once,
/// plus up to <see cref="SandboxOptions.SpareWorkers"/> started but unassigned. Each serves one
/// <see cref="WorkerKey"/> (an engine and an isolation key) at a time and is never handed from one
/// key to another (a new key gets a fresh process: an unassigned spare of its engine when one is
/// ready; spares run the default engine). When workers are retired is <see cref="RetirementPolicy"/>'s
/// call. Waiting executions are served first come, first served.
/// <para>
/// Why spares sit on top of <c>MaxWorkers</c>: when every slot is busy, a worker retiring (after N
/// executions, or a limit) would otherwise be replaced on the request path — a process start-up
/// (~1 s) in some request's latency. With the spare outside the execution slots, its replacement
/// is already warm; the extra cost is one idle process.
/// </para>
/// </summary>
internal sealed class WorkerPool<TWorker> : IAsyncDisposable
    where TWorker : class, IPooledWorker
{
    private static readonly TimeSpan SpareRetryDelay = TimeSpan.FromSeconds(30);

    private readonly object _gate = new();
    private readonly SandboxOptions _options;
    private readonly IWorkerStarter<TWorker> _starter;
    private readonly ILogger _logger;
    private readonly List<IdleWorker> _idle = [];
    private readonly LinkedList<Waiter> _waiters = new();
    private readonly HashSet<TWorker> _all = [];
    private readonly HashSet<Task> _background = [];
    private readonly PoolCounters _counters = new();
    private readonly Timer _maintenance;
    private DateTime _lastSpareFailure = DateTime.MinValue;
    private bool _disposed;

    /// <param name="Worker">A started worker waiting for an execution.</param>
    /// <param name="Key">The key it served; null for a spare that has served none.</param>
    private sealed record IdleWorker(TWorker Worker, WorkerKey? Key);

    /// <summary>Either a ready worker, or permission to start a new one (a slot already counted as alive).</summary>
    private sealed record Grant(TWorker? Worker);

    private sealed class Waiter(WorkerKey key)
    {
        public WorkerKey Key { get; } = key;
        public TaskCompletionSource<Grant> Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public WorkerPool(SandboxOptions options, IWorkerStarter<TWorker> starter, ILogger logger)
    {
        _options = options;
        _starter = starter;
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
            return new SandboxStatistics(_counters.Started, _counters.RetiredByReason(),
                _waiters.Count, _all.Count - _idle.Count, _idle.Count)
            {
                WorkerStartFailures = _counters.StartFailures,
                LastWorkerStarted = _counters.LastStarted,
                LastWorkerStartFailed = _counters.LastStartFailed,
            };
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

    /// <summary>A worker of <paramref name="key"/>'s engine that has served no other key, started if need be.</summary>
    /// <exception cref="SandboxOverloadedException">Too many executions are waiting already.</exception>
    /// <exception cref="WorkerStartException">A worker had to be started and could not be.</exception>
    public async Task<TWorker> AcquireAsync(WorkerKey key, CancellationToken cancellationToken)
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
            var worker = await _starter.StartAsync(key.Engine, cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                if (_disposed)
                {
                    _counters.WorkerReturned();
                    RetireInBackground(worker, RetirementReason.Disposed, freesSlot: true);
                    throw new ObjectDisposedException(nameof(Sandbox));
                }
                _all.Add(worker);
                _counters.WorkerStarted();
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
                if (e is WorkerStartException)
                {
                    _counters.WorkerStartFailed();
                }
                _counters.GrantAbandoned();
                Pump();
                EnsureSpares();
            }
            throw;
        }
    }

    /// <summary>
    /// Returns a worker after an execution that ended with <paramref name="endedWith"/> (null: it ended
    /// without an outcome; <paramref name="atEngineMemoryCap"/>: with the engine's own memory limit). The worker
    /// goes back idle for its key, or is retired.
    /// </summary>
    public void Release(TWorker worker, WorkerKey key, OutcomeStatus? endedWith, bool atEngineMemoryCap = false) =>
        Return(worker, key, () => RetirementPolicy.AfterExecution(worker, endedWith, _options, DateTime.UtcNow, atEngineMemoryCap));

    private void GiveBack(Grant grant, WorkerKey key)
    {
        if (grant.Worker is { } worker)
        {
            Return(worker, key, () => RetirementPolicy.OnReturn(worker, _options, DateTime.UtcNow));
            return;
        }
        lock (_gate)
        {
            _counters.GrantAbandoned();
            Pump();
            EnsureSpares();
        }
    }

    private void Return(TWorker worker, WorkerKey key, Func<RetirementReason?> retirement)
    {
        lock (_gate)
        {
            _counters.WorkerReturned();
            if (_disposed)
            {
                // DisposeAsync retired every worker it knew (busy ones too); count each only once.
                if (_all.Remove(worker))
                {
                    RetireInBackground(worker, RetirementReason.Disposed, freesSlot: false);
                }
                return;
            }
            if (retirement() is { } reason)
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

    // ---- everything below runs under _gate ----

    private Grant? TryGrant(WorkerKey key)
    {
        RetireExpiredIdle();
        if (_counters.Busy >= _options.MaxWorkers)
        {
            return null;
        }
        int own = _idle.FindIndex(w => w.Key == key);
        if (own >= 0)
        {
            return Take(own);
        }
        // A spare has served nobody, but it runs one engine.
        int spare = _idle.FindIndex(w => w.Key is null && w.Worker.EngineName == key.Engine);
        if (spare >= 0)
        {
            var grant = Take(spare);
            EnsureSpares();
            return grant;
        }
        if (_counters.Alive < _options.MaxWorkers + _options.SpareWorkers)
        {
            _counters.GrantedNewSlot();
            return new Grant(null);
        }
        if (_idle.Count > 0)
        {
            // A worker never passes to another key or engine: replace an idle worker of another key
            // with a fresh process. The slot it held is reused.
            var other = _idle[0];
            _idle.RemoveAt(0);
            _all.Remove(other.Worker);
            RetireInBackground(other.Worker, RetirementReason.OtherKey, freesSlot: false);
            _counters.GrantedRetiredWorkersSlot();
            return new Grant(null);
        }
        return null;
    }

    /// <summary>Idle workers age too (and may have died): they are retired, never handed out.</summary>
    private void RetireExpiredIdle()
    {
        var now = DateTime.UtcNow;
        for (int i = _idle.Count - 1; i >= 0; i--)
        {
            var idle = _idle[i].Worker;
            if (RetirementPolicy.WhileIdle(idle, _options, now) is { } reason)
            {
                _idle.RemoveAt(i);
                if (idle.WasKilledBySeccomp)
                {
                    // Nothing of the host's asked it to do anything: native code in it made a forbidden call.
                    Log.SeccompViolation(_logger, idle.Pid, "(died while idle)");
                }
                Retire(idle, reason);
            }
        }
    }

    private Grant Take(int index)
    {
        var worker = _idle[index].Worker;
        _idle.RemoveAt(index);
        _counters.GrantedIdleWorker();
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

    private void Retire(TWorker worker, RetirementReason reason)
    {
        _all.Remove(worker);
        RetireInBackground(worker, reason, freesSlot: true);
    }

    /// <summary>Every retirement goes through here, so the statistics count them all.</summary>
    private void RetireInBackground(TWorker worker, RetirementReason reason, bool freesSlot)
    {
        _counters.WorkerRetired(reason, freesSlot);
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
        while (spares + _counters.StartingSpares < _options.SpareWorkers && _counters.Alive < _options.MaxWorkers + _options.SpareWorkers)
        {
            _counters.SpareStarting();
            Background(StartSpareAsync());
        }
    }

    private async Task StartSpareAsync()
    {
        await Task.Yield();
        TWorker? worker = null;
        try
        {
            // Spares serve the submissions that name no engine: the default one.
            worker = await _starter.StartAsync(_options.DefaultEngine, CancellationToken.None).ConfigureAwait(false);
        }
        catch (WorkerStartException e)
        {
            Log.WorkerStartFailed(_logger, e.Message);
        }
        lock (_gate)
        {
            _counters.SpareStartEnded(started: worker is not null);
            if (worker is null)
            {
                _counters.WorkerStartFailed();
                _lastSpareFailure = DateTime.UtcNow;
                // Not retried here: a worker that cannot start would otherwise be restarted in a
                // tight loop. The next acquisition starts one on demand and reports the failure.
                Pump();
                return;
            }
            if (_disposed)
            {
                RetireInBackground(worker, RetirementReason.Disposed, freesSlot: true);
                return;
            }
            _all.Add(worker);
            _counters.WorkerStarted();
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
                RetireInBackground(worker, RetirementReason.Disposed, freesSlot: false);
            }
            _all.Clear();
            pending = [.. _background];
        }
        await Task.WhenAll(pending).ConfigureAwait(false);
    }
}
