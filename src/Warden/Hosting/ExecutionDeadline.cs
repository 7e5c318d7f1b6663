namespace Warden.Hosting;

/// <summary>
/// The host's hard deadline for one execution: when it passes, the worker is killed — unless the worker
/// has already answered and only the host has not read the answer yet (<see cref="PipeBacklog"/>). The
/// deadline exists to stop a worker that does not stop itself (an uninterruptible built-in, a hung
/// engine, a compromised worker), not to punish a worker for the host's own lag: when the host stalls
/// (a GC pause, a starved thread pool, memory pressure), every execution's timer can fire before its
/// result is read, and each kill would cost a worker start (measured in CI: two flood workers lost in
/// one stall, although both had answered with a clean timeout). The wait for a pending answer is
/// bounded (the constructor's <c>maxDeferral</c>): a worker cannot keep itself alive by writing, since the
/// host reads continuously and console output is bounded anyway.
/// </summary>
internal sealed class ExecutionDeadline : IDisposable
{
    private static readonly TimeSpan DeferralStep = TimeSpan.FromMilliseconds(20);

    private readonly Action _expire;
    private readonly Func<bool> _answerPending;
    private readonly TimeSpan _maxDeferral;
    private readonly Timer _timer;
    private readonly object _gate = new();
    private TimeSpan _deferred;
    private bool _done;

    /// <param name="expire">Kills the worker.</param>
    /// <param name="answerPending">Whether the worker has written output the host has not read yet.</param>
    /// <param name="maxDeferral">The longest the deadline waits for the host to read a pending answer.</param>
    public ExecutionDeadline(Action expire, Func<bool> answerPending, TimeSpan maxDeferral)
    {
        _expire = expire;
        _answerPending = answerPending;
        _maxDeferral = maxDeferral;
        _timer = new Timer(_ => OnDue(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Sets (or moves) the deadline to <paramref name="after"/> from now.</summary>
    public void Arm(TimeSpan after)
    {
        lock (_gate)
        {
            if (!_done)
            {
                _deferred = TimeSpan.Zero;
                _timer.Change(after, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private void OnDue()
    {
        lock (_gate)
        {
            if (_done)
            {
                return;
            }
            if (_deferred < _maxDeferral && _answerPending())
            {
                _deferred += DeferralStep;
                _timer.Change(DeferralStep, Timeout.InfiniteTimeSpan);
                return;
            }
            _done = true;
            // Under the lock: Dispose waits for a kill in flight, so no kill lands after the exchange
            // ended (the worker may by then be back in the pool or serving the next execution).
            _expire();
        }
    }

    /// <summary>After this returns the deadline never fires.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _done = true;
        }
        _timer.Dispose();
    }
}
