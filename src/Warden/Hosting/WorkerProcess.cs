using System.Diagnostics;
using Warden.Hosting.Isolation;
using Warden.Protocol;

namespace Warden.Hosting;

/// <summary>
/// One worker process and its pipes, as the operating system sees it: spawned inside its own cgroup,
/// written to and read from frame by frame, killed (with the reason the host had), reaped and disposed.
/// It knows nothing of executions or engines: <see cref="WorkerHandshake"/> and
/// <see cref="ExecutionExchange"/> run the message sequences over it.
/// </summary>
internal sealed class WorkerProcess : IAsyncDisposable
{
    private const int StderrTailBytes = 64 << 10;

    private readonly Process _process;
    private readonly Stream _toWorker;
    private readonly Stream _fromWorker;
    private readonly BoundedTail _stderr = new(StderrTailBytes);
    private readonly Task _stderrPump;
    private int _killReason;
    private int _disposed;

    private WorkerProcess(Process process, WorkerCgroup? cgroup)
    {
        _process = process;
        Cgroup = cgroup;
        Pid = process.Id;
        _toWorker = process.StandardInput.BaseStream;
        _fromWorker = process.StandardOutput.BaseStream;
        _stderrPump = _stderr.PumpAsync(process.StandardError.BaseStream);
        StartedAt = DateTime.UtcNow;
    }

    public int Pid { get; }
    public DateTime StartedAt { get; }

    /// <summary>The worker's own cgroup (null without the cgroup layer): its memory, CPU and task counters.</summary>
    public WorkerCgroup? Cgroup { get; }

    /// <summary>Why the host killed the worker: the first reason recorded wins.</summary>
    public WorkerKillReason KillReason => (WorkerKillReason)Volatile.Read(ref _killReason);

    /// <summary>Set once the host has logged why this worker ended (on an execution's path), so that retiring it does not log it again.</summary>
    public bool EndReported { get; set; }

    /// <summary>False once the worker died or was killed for a reason: it must not be used again.</summary>
    public bool IsAlive => Volatile.Read(ref _killReason) == 0 && !_process.HasExited;

    public bool HasExited => _process.HasExited;

    /// <summary>Everything the worker wrote to stderr lately (attacker-influenced: see <see cref="Sanitize"/>).</summary>
    public string Stderr => _stderr.ToString();

    /// <summary>
    /// Creates the worker's cgroup (capped at <paramref name="startupCapBytes"/> until its first
    /// execution sets the real cap) and starts the process in it.
    /// </summary>
    /// <exception cref="WorkerStartException">No cgroup or no process.</exception>
    public static async Task<WorkerProcess> SpawnAsync(WorkerLaunchSpec spec, long startupCapBytes)
    {
        // The cgroup exists before the process: the launcher joins it before anything else runs.
        WorkerCgroup? cgroup = null;
        Process process;
        try
        {
            cgroup = spec.Isolation.Cgroups?.CreateWorkerGroup(spec.MaxTasks, spec.CpuCores, startupCapBytes);
            process = await WorkerSpawner.StartAsync(spec.ToStartInfo(cgroup)).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // No cgroup (disk full, a group removed underneath us), no fork (task limits): a start
            // failure like any other, never an exception that escapes to the caller or the pool.
            cgroup?.Dispose();
            throw new WorkerStartException("the worker could not be started: " + e.Message);
        }
        return new WorkerProcess(process, cgroup);
    }

    /// <exception cref="IOException">The worker is gone.</exception>
    public async Task SendAsync(HostMessage message)
    {
        await _toWorker.WriteAsync(FrameCodec.Encode(message)).ConfigureAwait(false);
        await _toWorker.FlushAsync().ConfigureAwait(false);
    }

    /// <summary>Whether the worker has written output that the host has not read yet (see <see cref="ExecutionDeadline"/>).</summary>
    public bool HasUnreadOutput => PipeBacklog.UnreadBytes(_fromWorker) > 0;

    /// <summary>The next frame, or null at the end of the worker's output. The length is checked before allocating.</summary>
    public ValueTask<byte[]?> ReadFrameAsync(int maxBytes) =>
        FrameCodec.ReadFrameAsync(_fromWorker, maxBytes, CancellationToken.None);

    public TimeSpan CpuTimeOrZero()
    {
        // Through bubblewrap the host's child is bwrap, not the worker: the cgroup counts every
        // thread of the worker (the engine's helpers included).
        if (Cgroup?.CpuMs() is double cgroupMs)
        {
            return TimeSpan.FromMilliseconds(cgroupMs);
        }
        try
        {
            return _process.TotalProcessorTime;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            return TimeSpan.Zero;
        }
    }

    public int ExitCodeOrUnknown()
    {
        try
        {
            return _process.HasExited ? _process.ExitCode : -1;
        }
        catch (InvalidOperationException)
        {
            return -1;
        }
    }

    /// <summary>Kills the process tree and everything in its cgroup; records the reason unless one was recorded before.</summary>
    public void Kill(WorkerKillReason reason = WorkerKillReason.None)
    {
        if (reason != WorkerKillReason.None)
        {
            Interlocked.CompareExchange(ref _killReason, (int)reason, 0);
        }
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            // Already gone.
        }
        // Everything in the worker's cgroup, not just the process the host started.
        Cgroup?.KillAll();
    }

    /// <summary>Reaps the process (killing it after 10 s) and gives its stderr a moment to drain.</summary>
    public async Task WaitForExitAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Kill();
        }
        catch (InvalidOperationException)
        {
            // Disposed concurrently (the sandbox is shutting down): it was killed first.
        }
        // stderr carries the reason for a fatal abort; give the pump a moment to drain it.
        await Task.WhenAny(_stderrPump, Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        Kill(WorkerKillReason.Retired);
        await WaitForExitAsync().ConfigureAwait(false);
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _process.Dispose();
            Cgroup?.Dispose();
        }
    }

    /// <summary>Worker stderr is attacker-influenced: keep it printable before it reaches a log.</summary>
    public static string Sanitize(string text) =>
        new(text.Select(c => char.IsControl(c) ? ' ' : c).ToArray());

    /// <summary>The last 2000 characters, where an abort's reason is.</summary>
    public static string Tail(string text) => text.Length <= 2000 ? text.Trim() : text[^2000..].Trim();
}

/// <summary>Why the host killed a worker (logged when a retired worker is found dead; chooses a death's outcome).</summary>
internal enum WorkerKillReason
{
    None = 0,
    Deadline,
    Cancelled,
    Violation,
    StartTimeout,
    Retired,
}

/// <summary>A worker could not be started.</summary>
internal sealed class WorkerStartException(string message) : Exception(message);
