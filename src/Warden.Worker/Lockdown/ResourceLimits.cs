using System.Runtime.InteropServices;

namespace Warden.Worker.Lockdown;

/// <summary>
/// Resource limits the worker sets on itself. Deliberately not <c>RLIMIT_AS</c> (V8 and the .NET GC
/// reserve tens of GiB of address space; hitting it aborts V8) and not <c>RLIMIT_NPROC</c> (counted
/// per user across every worker: one worker could starve the others). Memory and task counts are the
/// cgroup's job.
/// </summary>
internal static partial class ResourceLimits
{
    private const int RlimitFsize = 1, RlimitCore = 4, RlimitNofile = 7, RlimitMemlock = 8, RlimitSigpending = 11, RlimitMsgqueue = 12, RlimitRtprio = 14;

    [StructLayout(LayoutKind.Sequential)]
    private struct Rlimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRlimit(int resource, in Rlimit limit);

    /// <summary>At start: no core dumps (a dump would write the isolate's memory, other tenants' data included, to disk).</summary>
    public static bool ApplyAtStart() => Set(RlimitCore, 0);

    /// <summary>
    /// After warm-up, when the runtime has opened what it needs: no file may grow (FSIZE 0 before
    /// exec makes CoreCLR fail at start), a small bound on open files, no locked memory, no POSIX
    /// message queues, no real-time priority, a small bound on queued signals.
    /// </summary>
    public static bool ApplyAfterWarmUp()
    {
        int open = Directory.GetFiles("/proc/self/fd").Length;
        return Set(RlimitFsize, 0)
            & Set(RlimitNofile, (ulong)Math.Max(64, open + 32))
            & Set(RlimitMemlock, 0)
            & Set(RlimitMsgqueue, 0)
            // No real-time priority (SCHED_FIFO would escape the cgroup's CPU quota), and few queued
            // signals (they are charged to the workers' shared uid).
            & Set(RlimitRtprio, 0)
            & Set(RlimitSigpending, 256);
    }

    private static bool Set(int resource, ulong value) => SetRlimit(resource, new Rlimit { Current = value, Maximum = value }) == 0;
}
