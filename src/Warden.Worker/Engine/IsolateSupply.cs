namespace Warden.Worker.Engine;

/// <summary>
/// Keeps one isolate for the default limits prepared ahead, and tears retired isolates down, on a
/// thread of its own: creating (~1–5 ms) and disposing (~1–3 ms) an isolate then overlap with the
/// script thread's work instead of adding to every execution's latency.
/// </summary>
/// <remarks>
/// Nothing of an execution runs here: a retired isolate's script has ended (its watchdog disarmed
/// only after the last entry), and FinalizationRegistry callbacks only queue inside the prelude.
/// </remarks>
internal sealed class IsolateSupply : IDisposable
{
    /// <summary>Retired isolates waiting for teardown beyond this are disposed by the caller itself, so memory stays bounded.</summary>
    private const int MaxPendingDisposals = 2;

    private readonly object _gate = new();
    private readonly int _defaultMemoryMb;
    private readonly Func<int, PreparedIsolate> _create;
    private readonly Queue<PreparedIsolate> _retired = new();
    private readonly Thread _thread;
    private PreparedIsolate? _ready;
    private Exception? _failure;
    private bool _stopping;

    public IsolateSupply(int defaultMemoryMb, Func<int, PreparedIsolate> create)
    {
        _defaultMemoryMb = defaultMemoryMb;
        _create = create;
        _thread = new Thread(Loop, 16 << 20) { IsBackground = true, Name = "warden-isolate-supply" };
        _thread.Start();
    }

    /// <summary>An isolate for these limits: the prepared one when they are the defaults, else a new one.</summary>
    public PreparedIsolate Take(int memoryMb)
    {
        if (memoryMb != _defaultMemoryMb)
        {
            // V8RuntimeConstraints are fixed when a runtime is made: other limits need their own.
            return _create(memoryMb);
        }
        lock (_gate)
        {
            while (_ready is null)
            {
                if (_failure is not null)
                {
                    throw new InvalidOperationException("The isolate supply failed", _failure);
                }
                Monitor.Wait(_gate);
            }
            var isolate = _ready;
            _ready = null;
            Monitor.PulseAll(_gate);
            return isolate;
        }
    }

    /// <summary>Waits until the first isolate is prepared.</summary>
    public void WaitUntilReady()
    {
        lock (_gate)
        {
            while (_ready is null && _failure is null)
            {
                Monitor.Wait(_gate);
            }
            if (_failure is not null)
            {
                throw new InvalidOperationException("The isolate supply failed", _failure);
            }
        }
    }

    /// <summary>Hands an isolate over for teardown.</summary>
    public void Retire(PreparedIsolate isolate)
    {
        lock (_gate)
        {
            if (_retired.Count < MaxPendingDisposals && !_stopping)
            {
                _retired.Enqueue(isolate);
                Monitor.PulseAll(_gate);
                return;
            }
        }
        isolate.Dispose();
    }

    private void Loop()
    {
        while (true)
        {
            PreparedIsolate? toDispose = null;
            bool create = false;
            lock (_gate)
            {
                while (!_stopping && _failure is null && _ready is not null && _retired.Count == 0)
                {
                    Monitor.Wait(_gate);
                }
                if (_stopping || _failure is not null)
                {
                    return;
                }
                // Preparing the next isolate comes first: someone may be waiting for it.
                if (_ready is null)
                {
                    create = true;
                }
                else
                {
                    toDispose = _retired.Dequeue();
                }
            }
            try
            {
                if (create)
                {
                    var isolate = _create(_defaultMemoryMb);
                    lock (_gate)
                    {
                        _ready = isolate;
                        Monitor.PulseAll(_gate);
                    }
                }
                else
                {
                    toDispose!.Dispose();
                }
            }
            catch (Exception e)
            {
                lock (_gate)
                {
                    _failure = e;
                    Monitor.PulseAll(_gate);
                }
                return;
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
        _thread.Join();
        _ready?.Dispose();
        while (_retired.TryDequeue(out var isolate))
        {
            isolate.Dispose();
        }
    }
}
