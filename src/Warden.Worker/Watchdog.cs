using System.Diagnostics;
using Warden.Protocol;
using Warden.Worker.Engines;

namespace Warden.Worker;

/// <summary>Why the watchdog (or the bridge) stopped an execution.</summary>
internal enum TripReason
{
    None = 0,
    Cpu,
    Wall,
    Console,
    /// <summary>The worker's resident memory grew past the execution's budget (off-heap memory included).</summary>
    Memory,
}

/// <summary>
/// Enforces CPU and wall time on a dedicated thread (never the thread pool: it must run when the
/// pool is starved). It calls nothing on the engine instance but <see cref="IEngineInstance.Interrupt"/>:
/// any other call may wait for the running script (V8's isolate lock). An interrupt that lands while no script runs is
/// lost, so once tripped it re-issues <c>Interrupt()</c> every millisecond until disarmed, and the
/// event loop checks <see cref="Tripped"/> before every entry into the engine.
/// It also watches the process's resident memory, whatever the engine counts itself: V8's sampled heap
/// limit can be outrun (measured: arrays made by <c>new Array(n).fill()</c> in a loop never tripped it),
/// and memory outside the heap (JSON.stringify buffers, engine internals) is in no V8 count at all.
/// </summary>
internal sealed class Watchdog
{
    private readonly object _gate = new();
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _trippedSignal = new(false);
    private IEngineInstance? _instance;
    private long _wallDeadline;      // Stopwatch ticks
    private long _cpuDeadlineNs;     // on _cpuClock
    private int _cpuClock;
    private long _residentLimitBytes;
    private volatile int _reason;
    private readonly ProcessMemory _memory = new();

    /// <summary>How often memory is sampled while a script runs.</summary>
    private const double MemorySampleMs = 5;

    /// <summary>
    /// How much CPU time the script thread may spend ignoring Interrupt() after a trip (inside a
    /// built-in that never checks) before the worker ends itself, so that the limit is reported at
    /// once, not at the host's deadline, and memory stops growing. Counted in the script thread's
    /// CPU time, not wall time: on a starved machine (measured: load 11–16 on 2 cores) an
    /// interruptible loop could go 250 ms of wall time without being scheduled to honour the
    /// interrupt, and the worker was lost for nothing.
    /// </summary>
    private const long EscalationCpuNs = 250_000_000;

    /// <summary>
    /// The wall-time backstop of the escalation, for a script thread that neither stops nor runs
    /// (blocked in the engine). The host's own deadline (limit + grace) still bounds everything.
    /// </summary>
    private static readonly TimeSpan EscalationWallDelay = TimeSpan.FromSeconds(1);
    private long _trippedAt;
    private long _trippedAtCpuNs;

    public Watchdog()
    {
        _thread = new Thread(Loop) { IsBackground = true, Name = "warden-watchdog" };
        _thread.Start();
    }

    public TripReason Tripped => (TripReason)_reason;

    public void Arm(IEngineInstance instance, int wallMs, int cpuMs, int cpuClock, long memoryBudgetBytes)
    {
        long resident = _memory.ResidentBytes();
        lock (_gate)
        {
            _residentLimitBytes = resident == 0 ? long.MaxValue : resident + memoryBudgetBytes;
            _instance = instance;
            _cpuClock = cpuClock;
            _wallDeadline = Stopwatch.GetTimestamp() + (long)(wallMs * (double)Stopwatch.Frequency / 1000);
            _cpuDeadlineNs = Native.ReadClockNs(cpuClock) + cpuMs * 1_000_000L;
            _reason = 0;
            _trippedSignal.Reset();
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Stops watching. After this returns the watchdog never touches that instance again.</summary>
    public void Disarm()
    {
        lock (_gate)
        {
            _instance = null;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Stops the current execution for a reason found outside the watchdog (console limit).</summary>
    public void Trip(TripReason reason)
    {
        lock (_gate)
        {
            if (_instance is null || _reason != 0)
            {
                return;
            }
            _reason = (int)reason;
            _trippedAt = Stopwatch.GetTimestamp();
            _trippedAtCpuNs = Native.ReadClockNs(_cpuClock);
            _trippedSignal.Set();
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Sleeps until the timeout passes or the execution is tripped; true when tripped.</summary>
    public bool WaitTripped(TimeSpan timeout) => _trippedSignal.Wait(timeout);

    /// <summary>Sleeps until the timeout passes, the execution is tripped, or <paramref name="other"/> is set.</summary>
    public void WaitTrippedOr(WaitHandle other, TimeSpan timeout) => WaitHandle.WaitAny([_trippedSignal.WaitHandle, other], timeout);

    private void Loop()
    {
        lock (_gate)
        {
            while (true)
            {
                if (_instance is null)
                {
                    Monitor.Wait(_gate);
                    continue;
                }
                if (_reason != 0)
                {
                    if (Native.ReadClockNs(_cpuClock) - _trippedAtCpuNs > EscalationCpuNs
                        || Stopwatch.GetElapsedTime(_trippedAt) > EscalationWallDelay)
                    {
                        EndWorker((TripReason)_reason);
                    }
                    _instance.Interrupt();
                    Monitor.Wait(_gate, 1);
                    continue;
                }
                long wallLeftTicks = _wallDeadline - Stopwatch.GetTimestamp();
                long cpuLeftNs = _cpuDeadlineNs - Native.ReadClockNs(_cpuClock);
                if (cpuLeftNs <= 0 || wallLeftTicks <= 0)
                {
                    // When the watchdog wakes late both may have passed: name the one that passed
                    // first (the larger overshoot), not whichever is checked first.
                    double wallOverMs = -wallLeftTicks * 1000.0 / Stopwatch.Frequency;
                    double cpuOverMs = -cpuLeftNs / 1e6;
                    _reason = (int)(cpuLeftNs <= 0 && (wallLeftTicks > 0 || cpuOverMs > wallOverMs) ? TripReason.Cpu : TripReason.Wall);
                    _trippedAt = Stopwatch.GetTimestamp();
                    _trippedAtCpuNs = Native.ReadClockNs(_cpuClock);
                    _trippedSignal.Set();
                    continue;
                }
                if (_memory.ResidentBytes() > _residentLimitBytes)
                {
                    _reason = (int)TripReason.Memory;
                    _trippedAt = Stopwatch.GetTimestamp();
                    _trippedAtCpuNs = Native.ReadClockNs(_cpuClock);
                    _trippedSignal.Set();
                    continue;
                }
                // A thread's CPU clock never runs faster than the wall clock, so sleeping for the
                // smaller of both remainders cannot overshoot either deadline.
                double wallLeftMs = wallLeftTicks * 1000.0 / Stopwatch.Frequency;
                double sleepMs = Math.Clamp(Math.Min(wallLeftMs, cpuLeftNs / 1e6), 0.5, MemorySampleMs);
                Monitor.Wait(_gate, TimeSpan.FromMilliseconds(sleepMs));
            }
        }
    }

    /// <summary>Ends the process at once (no managed shutdown: the script thread is stuck in the engine).</summary>
    private static void EndWorker(TripReason reason)
    {
        int code = reason switch
        {
            TripReason.Cpu => WorkerExitCodes.CpuLimit,
            TripReason.Wall => WorkerExitCodes.WallLimit,
            TripReason.Memory => WorkerExitCodes.MemoryLimit,
            _ => WorkerExitCodes.ConsoleLimit,
        };
        Console.Error.WriteLine($"warden-worker: the {reason} limit was not honoured by the engine; ending the worker");
        Native.ExitImmediately(code);
    }
}
