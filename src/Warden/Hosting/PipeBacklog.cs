using System.IO.Pipes;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Warden.Hosting;

/// <summary>
/// How many bytes a worker has written to its output pipe that the host has not read yet (FIONREAD).
/// The hard deadline asks this before it kills: a worker whose answer already sits in the pipe has
/// answered, and only the host was late to read it (a stalled host: GC, a starved thread pool, a
/// machine under memory pressure). Killing it then would cost a worker start for the host's own lag.
/// </summary>
internal static partial class PipeBacklog
{
    // FIONREAD on Linux (x86-64 and arm64 alike).
    private const nuint Fionread = 0x541B;

    /// <summary>Unread bytes in the pipe behind <paramref name="stream"/>; 0 when unknown (not a pipe, or the call failed).</summary>
    public static int UnreadBytes(Stream stream)
    {
        if (!OperatingSystem.IsLinux() || stream is not PipeStream { SafePipeHandle: { IsInvalid: false, IsClosed: false } handle })
        {
            return 0;
        }
        try
        {
            return Ioctl(handle, Fionread, out int count) == 0 ? Math.Max(0, count) : 0;
        }
        catch (ObjectDisposedException)
        {
            return 0;
        }
    }

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(SafePipeHandle fd, nuint request, out int count);
}
