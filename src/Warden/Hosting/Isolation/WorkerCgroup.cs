using System.Runtime.InteropServices;

namespace Warden.Hosting.Isolation;

/// <summary>
/// The cgroup of one worker. The worker's launcher joins it before anything else runs (so every
/// process and thread the worker makes is inside); the host raises or lowers its memory cap before
/// each execution, reads its OOM-kill counter to classify a death, and kills the whole group.
/// </summary>
internal abstract partial class WorkerCgroup : IDisposable
{
    private const int SigKill = 9;
    private int _disposed;

    /// <summary>The <c>cgroup.procs</c> files the launcher writes its own pid to, one per hierarchy.</summary>
    public abstract IReadOnlyList<string> ProcsFiles { get; }

    /// <summary>Sets the memory cap (all memory the worker's processes use: V8 heap, ArrayBuffers, WebAssembly, runtime, kernel).</summary>
    public abstract void SetMemoryLimit(long bytes);

    public abstract long MemoryUsageBytes();

    /// <summary>
    /// Starts a new peak-usage window (the host's own measure of an execution's memory, which a
    /// compromised worker cannot forge). False where the kernel cannot reset it (cgroup v2 before
    /// per-descriptor resets): the peak then runs from the group's creation, which can only make
    /// it larger.
    /// </summary>
    public abstract bool ResetPeakMemoryUsage();

    /// <summary>The group's peak memory usage since the last reset (or its creation); 0 when unknown.</summary>
    public abstract long PeakMemoryUsageBytes();

    /// <summary>How many times the kernel's OOM killer killed a process of this group.</summary>
    public abstract long OomKills();

    /// <summary>CPU used by every thread of the group, in ms; null when the machine does not account it.</summary>
    public abstract double? CpuMs();

    /// <summary>Kills every process in the group, not just the first one the host started.</summary>
    public virtual void KillAll()
    {
        for (int attempt = 0; attempt < 20; attempt++)
        {
            var pids = ReadPids();
            if (pids.Count == 0)
            {
                return;
            }
            foreach (int pid in pids)
            {
                _ = Kill(pid, SigKill);
            }
            Thread.Sleep(1);
        }
    }

    protected abstract IEnumerable<string> Directories { get; }

    private List<int> ReadPids()
    {
        var pids = new List<int>();
        foreach (var file in ProcsFiles)
        {
            try
            {
                foreach (var line in File.ReadLines(file))
                {
                    if (int.TryParse(line, out int pid) && pid > 1)
                    {
                        pids.Add(pid);
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The group is already gone.
            }
        }
        return pids;
    }

    /// <summary>Kills what is left and removes the group's directories (retried briefly: the kernel frees a group after its last task is reaped).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        KillAll();
        foreach (var directory in Directories)
        {
            bool removed = false;
            for (int attempt = 0; attempt < 50 && !(removed = !Directory.Exists(directory) || CgroupDriver.TryRemoveDirectory(directory)); attempt++)
            {
                Thread.Sleep(2);
            }
            if (!removed)
            {
                // A large worker can take longer to die: retried before every new group, so that
                // groups (and the kernel's memory-cgroup ids) do not leak for the host's lifetime.
                Leftovers.Enqueue(directory);
            }
        }
    }

    private static readonly System.Collections.Concurrent.ConcurrentQueue<string> Leftovers = new();

    /// <summary>Removes groups whose last task took too long to die when they were disposed.</summary>
    internal static void RemoveLeftovers()
    {
        for (int n = Leftovers.Count; n > 0 && Leftovers.TryDequeue(out var directory); n--)
        {
            if (Directory.Exists(directory) && !CgroupDriver.TryRemoveDirectory(directory))
            {
                Leftovers.Enqueue(directory);
            }
        }
    }

    /// <summary>Reads "key value" lines (memory.oom_control, memory.events, cpu.stat).</summary>
    protected static long ReadKeyedValue(string file, string key)
    {
        try
        {
            foreach (var line in File.ReadLines(file))
            {
                var parts = line.Split(' ', 2);
                if (parts.Length == 2 && parts[0] == key && long.TryParse(parts[1], out long value))
                {
                    return value;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return 0;
    }

    protected static long ReadNumber(string file)
    {
        try
        {
            return long.TryParse(File.ReadAllText(file).Trim(), out long value) ? value : 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
