namespace Warden.Tests;

/// <summary>Samples a process's resident memory (from /proc) every millisecond; reports the growth over the first sample.</summary>
/// <remarks>
/// On its own thread at 1 ms, not on the thread pool: a bomb can add hundreds of MB between two
/// coarser samples, and the peak is what the memory assertions are about.
/// </remarks>
internal sealed class ResidentSampler : IDisposable
{
    private readonly Thread _thread;
    private readonly long _baseline;
    private long _peak;
    private volatile bool _stop;
    private readonly string _statm;

    public ResidentSampler(int pid)
    {
        _statm = $"/proc/{pid}/statm";
        _baseline = Read();
        _peak = _baseline;
        _thread = new Thread(() =>
        {
            while (!_stop)
            {
                long now = Read();
                if (now > _peak)
                {
                    _peak = now;
                }
                Thread.Sleep(1);
            }
        }) { IsBackground = true, Name = "resident-sampler" };
        _thread.Start();
    }

    public long Stop()
    {
        _stop = true;
        _thread.Join();
        return _peak - _baseline;
    }

    public void Dispose() => _stop = true;

    private long Read()
    {
        try
        {
            // "size resident shared ..." in pages; a process that has exited reads as nothing.
            var fields = File.ReadAllText(_statm).Split(' ');
            return long.Parse(fields[1]) * Environment.SystemPageSize;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 0;
        }
    }
}
