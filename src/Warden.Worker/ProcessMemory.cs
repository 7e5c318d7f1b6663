using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Warden.Worker;

/// <summary>
/// Resident memory of the worker process, read from /proc/self/statm without allocating and
/// without touching the engine (so the watchdog thread can call it while a script runs).
/// </summary>
internal sealed class ProcessMemory : IDisposable
{
    private readonly SafeFileHandle? _statm;
    private readonly byte[] _buffer = new byte[128];
    private readonly long _pageSize = Environment.SystemPageSize;

    public ProcessMemory()
    {
        try
        {
            _statm = File.OpenHandle("/proc/self/statm", FileMode.Open, FileAccess.Read);
        }
        catch (IOException)
        {
            _statm = null;
        }
        catch (UnauthorizedAccessException)
        {
            _statm = null;
        }
    }

    /// <summary>Resident bytes, or 0 when /proc is not available.</summary>
    public long ResidentBytes()
    {
        if (_statm is null)
        {
            return 0;
        }
        int n = RandomAccess.Read(_statm, _buffer, 0);
        // Format: "size resident shared text lib data dt" in pages.
        int i = 0;
        while (i < n && _buffer[i] != (byte)' ')
        {
            i++;
        }
        i++;
        long pages = 0;
        while (i < n && _buffer[i] >= (byte)'0' && _buffer[i] <= (byte)'9')
        {
            pages = pages * 10 + (_buffer[i] - (byte)'0');
            i++;
        }
        return pages * _pageSize;
    }

    public void Dispose() => _statm?.Dispose();
}
