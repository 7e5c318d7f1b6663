using System.Collections.Concurrent;

using Warden.Worker.Engines;

namespace Warden.Worker;

/// <summary>
/// Keeps engine instances for the default limits prepared ahead on a thread of its own, and tears
/// retired instances down on another: creating (a V8 isolate: ~5–10 ms here) and disposing (~1–4 ms)
/// an instance then overlap with the script thread's work instead of adding to every execution's latency.
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
    private readonly int _defaultMemoryMb;
    private readonly Func<int, IEngineInstance> _create;
    private readonly Queue<IEngineInstance> _ready = new();
    private readonly BlockingCollection<IEngineInstance> _retired = new(MaxPendingDisposals);
    private readonly Thread _preparer;
    private readonly Thread _disposer;
    private Exception? _failure;
    private bool _stopping;

    public InstanceSupply(int defaultMemoryMb, Func<int, IEngineInstance> create)
    {
        _defaultMemoryMb = defaultMemoryMb;
        _create = create;
        _preparer = new Thread(Prepare, 16 << 20) { IsBackground = true, Name = "warden-instance-preparer" };
        _disposer = new Thread(DisposeRetired, 16 << 20) { IsBackground = true, Name = "warden-instance-disposer" };
        _preparer.Start();
        _disposer.Start();
    }

    /// <summary>An instance for these limits: a prepared one when they are the defaults, else a new one.</summary>
    public IEngineInstance Take(int memoryMb)
    {
        if (memoryMb != _defaultMemoryMb)
        {
            // An instance's memory caps are fixed when it is made (V8RuntimeConstraints): other limits need their own.
            return _create(memoryMb);
        }
        lock (_gate)
        {
            while (_ready.Count == 0)
            {
                ThrowIfFailed();
                Monitor.Wait(_gate);
            }
            var instance = _ready.Dequeue();
            Monitor.PulseAll(_gate);
            return instance;
        }
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
                }
                var instance = _create(_defaultMemoryMb);
                lock (_gate)
                {
                    _ready.Enqueue(instance);
                    Monitor.PulseAll(_gate);
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
