using System.Runtime.InteropServices;

namespace Warden.Worker;

/// <summary>The few libc calls the worker needs: per-thread CPU clocks and process CPU usage.</summary>
internal static partial class Native
{
    private const string Libc = "libc";

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timeval
    {
        public long Seconds;
        public long Microseconds;
    }

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct Rusage
    {
        public Timeval User;
        public Timeval System;
        public fixed long Rest[14];
    }

    [LibraryImport(Libc, EntryPoint = "pthread_self")]
    private static partial nuint PthreadSelf();

    [LibraryImport(Libc, EntryPoint = "pthread_getcpuclockid")]
    private static partial int PthreadGetCpuClockId(nuint thread, out int clockId);

    [LibraryImport(Libc, EntryPoint = "clock_gettime", SetLastError = true)]
    private static partial int ClockGetTime(int clockId, out Timespec time);

    [LibraryImport(Libc, EntryPoint = "_exit")]
    private static partial void Exit(int status);

    /// <summary>_exit(2): ends the process without running any managed shutdown.</summary>
    public static void ExitImmediately(int status) => Exit(status);

    [LibraryImport(Libc, EntryPoint = "getrusage", SetLastError = true)]
    private static partial int GetRusage(int who, out Rusage usage);

    /// <summary>The CPU-time clock of the calling thread, readable from any other thread.</summary>
    public static int CurrentThreadCpuClock()
    {
        int rc = PthreadGetCpuClockId(PthreadSelf(), out int clockId);
        if (rc != 0)
        {
            throw new InvalidOperationException($"pthread_getcpuclockid failed: {rc}");
        }
        return clockId;
    }

    /// <summary>Nanoseconds on a clock from <see cref="CurrentThreadCpuClock"/>.</summary>
    public static long ReadClockNs(int clockId)
    {
        if (ClockGetTime(clockId, out var t) != 0)
        {
            throw new InvalidOperationException($"clock_gettime failed: {Marshal.GetLastPInvokeError()}");
        }
        return t.Seconds * 1_000_000_000L + t.Nanoseconds;
    }

    /// <summary>User plus system CPU of the whole worker process (all threads, V8's helpers included), in ms.</summary>
    public static double ProcessCpuMs()
    {
        const int RusageSelf = 0;
        if (GetRusage(RusageSelf, out var u) != 0)
        {
            return 0;
        }
        return (u.User.Seconds + u.System.Seconds) * 1000.0 + (u.User.Microseconds + u.System.Microseconds) / 1000.0;
    }
}
