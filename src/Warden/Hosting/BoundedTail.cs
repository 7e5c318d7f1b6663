using System.Text;

namespace Warden.Hosting;

/// <summary>
/// Keeps the last bytes a worker wrote to stderr, never more than a fixed amount, so a worker
/// flooding stderr costs the host a constant amount of memory. Used to classify deaths and for logs.
/// </summary>
internal sealed class BoundedTail(int capacityBytes)
{
    private readonly object _gate = new();
    private readonly byte[] _buffer = new byte[capacityBytes];
    private int _start;
    private int _count;

    public void Append(ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            foreach (byte b in data.Length > _buffer.Length ? data[^_buffer.Length..] : data)
            {
                int end = (_start + _count) % _buffer.Length;
                _buffer[end] = b;
                if (_count < _buffer.Length)
                {
                    _count++;
                }
                else
                {
                    _start = (_start + 1) % _buffer.Length;
                }
            }
        }
    }

    public override string ToString()
    {
        lock (_gate)
        {
            var copy = new byte[_count];
            for (int i = 0; i < _count; i++)
            {
                copy[i] = _buffer[(_start + i) % _buffer.Length];
            }
            return Encoding.UTF8.GetString(copy);
        }
    }

    /// <summary>Reads a stream to its end into the tail.</summary>
    public async Task PumpAsync(Stream stream)
    {
        var chunk = new byte[8192];
        try
        {
            int n;
            while ((n = await stream.ReadAsync(chunk).ConfigureAwait(false)) > 0)
            {
                Append(chunk.AsSpan(0, n));
            }
        }
        catch (IOException)
        {
            // The worker went away; what was read is kept.
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
