using System.Collections.Concurrent;

namespace Warden.Worker.Engine;

/// <summary>
/// Keeps isolates for the default limits prepared ahead on a thread of its own, and tears retired
/// isolates down on another: creating (~5–10 ms here) and disposing (~1–4 ms) an isolate then
/// overlap with the script thread's work instead of adding to every execution's latency.
/// </summary>
/// <remarks>
/// Nothing of an execution runs on these threads: a retired isolate's script has ended (its watchdog
/// disarmed only after the last entry), and FinalizationRegistry callbacks only queue inside the prelude.
/// </remarks>
internal sealed class IsolateSupply : IDisposable
{
    /// <summary>Isolates kept ready: two absorb a burst of back-to-back executions.</summary>
    private const int ReadyTarget = 2;

    /// <summary>Retired isolates waiting for teardown beyond this are disposed by the caller itself, so memory stays bounded.</summary>
    private const int MaxPendingDisposals = 4;

    private readonly object _gate = new();
    private readonly int _defaultMemoryMb;
    private readonly Func<int, PreparedIsolate> _create;
    private readonly Queue<PreparedIsolate> _ready = new();
    private readonly BlockingCollection<PreparedIsolate> _retired = new(MaxPendingDisposals);
    private readonly Thread _preparer;
    private readonly Thread _disposer;
    private Exception? _failure;
    private bool _stopping;

    public IsolateSupply(int defaultMemoryMb, Func<int, PreparedIsolate> create)
    {
        _defaultMemoryMb = defaultMemoryMb;
        _create = create;
        _preparer = new Thread(Prepare, 16 << 20) { IsBackground = true, Name = "warden-isolate-preparer" };
        _disposer = new Thread(DisposeRetired, 16 << 20) { IsBackground = true, Name = "warden-isolate-disposer" };
        _preparer.Start();
        _disposer.Start();
    }

    /// <summary>An isolate for these limits: a prepared one when they are the defaults, else a new one.</summary>
    public PreparedIsolate Take(int memoryMb)
    {
        if (memoryMb != _defaultMemoryMb)
        {
            // V8RuntimeConstraints are fixed when a runtime is made: other limits need their own.
            return _create(memoryMb);
        }
        lock (_gate)
        {
            while (_ready.Count == 0)
            {
                ThrowIfFailed();
                Monitor.Wait(_gate);
            }
            var isolate = _ready.Dequeue();
            Monitor.PulseAll(_gate);
            return isolate;
        }
    }

    /// <summary>Waits until the first isolate is prepared.</summary>
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
    /// Tearing down an isolate that held this much takes long enough (unmapping hundreds of MB) to
    /// stall the next execution on a small machine if it overlapped with it, so it is done before
    /// the next execution starts, where it costs the worker's idle time instead of a user's.
    /// </summary>
    public const long LargeIsolateBytes = 32L << 20;

    /// <summary>Hands an isolate over for teardown: in the background, or at once when it was large.</summary>
    public void Retire(PreparedIsolate isolate, bool disposeNow)
    {
        if (disposeNow || _stopping || !_retired.TryAdd(isolate))
        {
            isolate.Dispose();
        }
    }

    private void ThrowIfFailed()
    {
        if (_failure is not null)
        {
            throw new InvalidOperationException("The isolate supply failed", _failure);
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
                var isolate = _create(_defaultMemoryMb);
                lock (_gate)
                {
                    _ready.Enqueue(isolate);
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
        foreach (var isolate in _retired.GetConsumingEnumerable())
        {
            try
            {
                isolate.Dispose();
            }
            catch (Exception e)
            {
                // Teardown of an isolate whose execution is over: nothing to report to the host,
                // but an exception here must not take the worker down with it.
                Console.Error.WriteLine("warden-worker: isolate teardown failed: " + e.GetType().Name);
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
        while (_ready.TryDequeue(out var isolate))
        {
            isolate.Dispose();
        }
    }
}
