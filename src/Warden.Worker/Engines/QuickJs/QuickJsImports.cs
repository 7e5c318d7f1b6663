using System.Security.Cryptography;
using Wasmtime;

namespace Warden.Worker.Engines.QuickJs;

/// <summary>
/// Everything the QuickJS module imports, as Warden defines it: six <c>env</c> functions (host calls, module
/// loading) and six WASI functions. Each reaches the instance that owns the calling store.
/// </summary>
/// <remarks>
/// SECURITY: this is the guest's whole view of the world. No WASI context exists: files do not exist
/// (every descriptor is EBADF; what libc writes to stdout/stderr is dropped), the clocks are coarsened to
/// 100 µs like V8's, randomness comes from the host's CSPRNG, the time zone is UTC. Every pointer and length
/// the guest passes is checked against its linear memory before the host reads or writes there
/// (<see cref="GuestMemory"/>); a guest that passes a bad one is broken, and its call traps.
/// </remarks>
internal static class QuickJsImports
{
    private const int ErrnoSuccess = 0;
    private const int ErrnoBadDescriptor = 8;
    private const int ErrnoInvalid = 28;

    /// <summary>The clocks' resolution, as V8's is in Warden (timing side channels).</summary>
    private const long ClockGranularityNs = 100_000;

    /// <summary>Most bytes one random_get may ask for: QuickJS asks for a seed's worth.</summary>
    private const int MaxRandomBytes = 65536;

    public static void Define(Linker linker)
    {
        linker.DefineFunction("env", "host_call", (Caller caller, int namePtr, int nameLen, int thisPtr, int argc, int argvPtr) =>
            Owner(caller).HostCall(namePtr, nameLen, argc, argvPtr));
        // The interrupt handler and the rejection tracker are never enabled (epochs stop the guest; the
        // prelude tracks rejections itself), so QuickJS never calls these two.
        linker.DefineFunction("env", "host_interrupt", (Caller caller) => 0);
        linker.DefineFunction("env", "host_promise_rejection", (Caller caller, int promisePtr, int reasonPtr, int isHandled) =>
            Owner(caller).FreeValues(promisePtr, reasonPtr));
        linker.DefineFunction("env", "host_module_normalize", (Caller caller, int basePtr, int namePtr) =>
            Owner(caller).NormalizeModuleName(basePtr, namePtr));
        linker.DefineFunction("env", "host_module_load", (Caller caller, int namePtr, int lengthPtr) =>
            Owner(caller).LoadModule(namePtr, lengthPtr));
        linker.DefineFunction("env", "host_get_timezone_offset", (Caller caller, int high, int low) => 0);

        linker.DefineFunction("wasi_snapshot_preview1", "clock_time_get", (Caller caller, int clockId, long precision, int timePtr) =>
            ClockTimeGet(Owner(caller), clockId, timePtr));
        linker.DefineFunction("wasi_snapshot_preview1", "random_get", (Caller caller, int bufferPtr, int length) =>
            RandomGet(Owner(caller), bufferPtr, length));
        linker.DefineFunction("wasi_snapshot_preview1", "fd_write", (Caller caller, int fd, int iovsPtr, int iovsCount, int writtenPtr) =>
            FdWrite(Owner(caller), fd, iovsPtr, iovsCount, writtenPtr));
        linker.DefineFunction("wasi_snapshot_preview1", "fd_close", (Caller caller, int fd) => ErrnoBadDescriptor);
        linker.DefineFunction("wasi_snapshot_preview1", "fd_fdstat_get", (Caller caller, int fd, int statPtr) => ErrnoBadDescriptor);
        linker.DefineFunction("wasi_snapshot_preview1", "fd_seek", (Caller caller, int fd, long offset, int whence, int newOffsetPtr) => ErrnoBadDescriptor);
    }

    private static QuickJsInstance Owner(Caller caller) =>
        caller.GetData() as QuickJsInstance ?? throw new InvalidOperationException("A QuickJS store without its instance called the host.");

    /// <summary>Realtime (Date.now) and monotonic (performance.now) at 100 µs; the CPU clocks are not offered.</summary>
    private static int ClockTimeGet(QuickJsInstance owner, int clockId, int timePtr)
    {
        long ns = clockId switch
        {
            0 => owner.FixedRealtimeNs ?? (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100,
            1 => (long)(System.Diagnostics.Stopwatch.GetTimestamp() * (1e9 / System.Diagnostics.Stopwatch.Frequency)),
            _ => -1,
        };
        if (ns < 0)
        {
            return ErrnoInvalid;
        }
        owner.Memory.WriteInt64(timePtr, ns / ClockGranularityNs * ClockGranularityNs);
        return ErrnoSuccess;
    }

    private static int RandomGet(QuickJsInstance owner, int bufferPtr, int length)
    {
        if (length is < 0 or > MaxRandomBytes)
        {
            return ErrnoInvalid;
        }
        var target = owner.Memory.Span(bufferPtr, length);
        RandomNumberGenerator.Fill(target);
        return ErrnoSuccess;
    }

    /// <summary>What QuickJS or libc print (stdout, stderr) is counted as written and dropped: nothing of the guest's is a log line.</summary>
    private static int FdWrite(QuickJsInstance owner, int fd, int iovsPtr, int iovsCount, int writtenPtr)
    {
        if (fd is not (1 or 2))
        {
            return ErrnoBadDescriptor;
        }
        if (iovsCount is < 0 or > 1024)
        {
            return ErrnoInvalid;
        }
        long total = 0;
        for (int i = 0; i < iovsCount; i++)
        {
            // An iovec is (u32 pointer, u32 length); only the length is read, but the buffer must be the guest's.
            int length = owner.Memory.ReadInt32(iovsPtr + i * 8 + 4);
            owner.Memory.Span(owner.Memory.ReadInt32(iovsPtr + i * 8), length);
            total += (uint)length;
        }
        owner.Memory.WriteInt32(writtenPtr, (int)Math.Min(total, int.MaxValue));
        return ErrnoSuccess;
    }
}
