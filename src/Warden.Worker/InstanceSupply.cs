using System.Collections.Concurrent;

using Warden.Worker.Engines;

namespace Warden.Worker;

/// <summary>
/// Keeps engine instances prepared ahead on a thread of its own, and tears retired instances down on
/// another: creating (a V8 isolate: ~5–10 ms here) and disposing (~1–4 ms) an instance then overlap with
/// the script thread's work instead of adding to every execution's latency. Instances are prepared for
/// the sandbox's default memory limit at first, and for another limit once a key's executions ask for it
/// twice in a row (an instance's memory caps are fixed when it is made): a key that always asks for
/// 64 MB then gets prepared instances too (measured: a tiny script at 64 MB took 10.7 ms with an
/// instance made on demand, against ~6.5 ms with a prepared one).
/// </summary>
/// <remarks>
/// Nothing of an execution runs on these threads: a retired instance's script has ended (its watchdog
/// disarmed only after the last entry), and V8's FinalizationRegistry callbacks only queue inside the prelude.
/// An engine's instances must therefore be creatable and disposable on any thread.
/// </remarks>
internal sealed class InstanceSupply : IDisposable
{
    /// <summary>Instances kept ready: two absorb a burst of back-to-back executions.</summary>
    private const int ReadyTarget = 2;

    /// <summary>Retired instances waiting for teardown beyond this are disposed by the caller itself, so memory stays bounded.</summary>
    private const int MaxPendingDisposals = 4;

    private readonly object _gate = new();
    private int _preparedMemoryMb;
    private int _otherMemoryMb;
    private readonly Func<int, IEngineInstance> _create;
    private readonly Queue<IEngineInstance> _ready = new();
    private readonly BlockingCollection<IEngineInstance> _retired = new(MaxPendingDisposals);
    private readonly Thread _preparer;
    private readonly Thread _disposer;
    private Exception? _failure;
    private bool _stopping;

    public InstanceSupply(int defaultMemoryMb, Func<int, IEngineInstance> create)
    {
        _preparedMemoryMb = defaultMemoryMb;
        _create = create;
        _preparer = new Thread(Prepare, 16 << 20) { IsBackground = true, Name = "warden-instance-preparer" };
        _disposer = new Thread(DisposeRetired, 16 << 20) { IsBackground = true, Name = "warden-instance-disposer" };
        _preparer.Start();
        _disposer.Start();
    }

    /// <summary>An instance for these limits: a prepared one when they are the ones prepared for, else a new one.</summary>
    public IEngineInstance Take(int memoryMb)
    {
        List<IEngineInstance> stale = [];
        lock (_gate)
        {
            if (memoryMb == _preparedMemoryMb)
            {
                _otherMemoryMb = 0;
                while (_ready.Count == 0)
                {
                    ThrowIfFailed();
                    Monitor.Wait(_gate);
                }
                var prepared = _ready.Dequeue();
                Monitor.PulseAll(_gate);
                return prepared;
            }
            // An instance's memory caps are fixed when it is made (V8RuntimeConstraints): other limits
            // need their own. Asked for twice in a row, they become the ones prepared ahead.
            if (_otherMemoryMb == memoryMb)
            {
                _preparedMemoryMb = memoryMb;
                stale.AddRange(_ready);
                _ready.Clear();
                Monitor.PulseAll(_gate);
            }
            _otherMemoryMb = memoryMb;
        }
        foreach (var instance in stale)
        {
            Retire(instance, disposeNow: false);
        }
        return _create(memoryMb);
    }

    /// <summary>Waits until the first instance is prepared.</summary>
    public void WaitUntilReady()
    {
        lock (_gate)
        {
            while (_ready.Count == 0)
            {
                ThrowIfFailed();
                Monitor.Wait(_gate);
            }
        }
    }

    /// <summary>
    /// Tearing down an instance that held this much takes long enough (unmapping hundreds of MB) to
    /// stall the next execution on a small machine if it overlapped with it, so it is done before
    /// the next execution starts, where it costs the worker's idle time instead of a user's.
    /// </summary>
    public const long LargeInstanceBytes = 32L << 20;

    /// <summary>Hands an instance over for teardown: in the background, or at once when it was large.</summary>
    public void Retire(IEngineInstance instance, bool disposeNow)
    {
        if (disposeNow || _stopping || !_retired.TryAdd(instance))
        {
            instance.Dispose();
        }
    }

    private void ThrowIfFailed()
    {
        if (_failure is not null)
        {
            throw new InvalidOperationException("The instance supply failed", _failure);
        }
    }

    private void Prepare()
    {
        try
        {
            while (true)
            {
                int memoryMb;
                lock (_gate)
                {
                    while (!_stopping && _ready.Count >= ReadyTarget)
                    {
                        Monitor.Wait(_gate);
                    }
                    if (_stopping)
                    {
                        return;
                    }
                    memoryMb = _preparedMemoryMb;
                }
                var instance = _create(memoryMb);
                bool stale;
                lock (_gate)
                {
                    // Made for limits that are no longer the ones prepared for: torn down, not kept.
                    stale = memoryMb != _preparedMemoryMb;
                    if (!stale)
                    {
                        _ready.Enqueue(instance);
                        Monitor.PulseAll(_gate);
                    }
                }
                if (stale)
                {
                    Retire(instance, disposeNow: false);
                }
            }
        }
        catch (Exception e)
        {
            lock (_gate)
            {
                _failure = e;
                Monitor.PulseAll(_gate);
            }
        }
    }

    private void DisposeRetired()
    {
        foreach (var instance in _retired.GetConsumingEnumerable())
        {
            try
            {
                instance.Dispose();
            }
            catch (Exception e)
            {
                // Teardown of an instance whose execution is over: nothing to report to the host,
                // but an exception here must not take the worker down with it.
                Console.Error.WriteLine("warden-worker: instance teardown failed: " + e.GetType().Name);
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
        }
        _retired.CompleteAdding();
        _preparer.Join();
        _disposer.Join();
        while (_ready.TryDequeue(out var instance))
        {
            instance.Dispose();
        }
    }
}
