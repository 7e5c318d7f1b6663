using Wasmtime;

namespace Warden.Worker.Engines.QuickJs;

/// <summary>
/// A QuickJS instance's linear memory as the host touches it: every access is checked against the memory's
/// current length first.
/// </summary>
/// <remarks>
/// SECURITY: pointers and lengths come from the guest, and a guest whose QuickJS a script has subverted can
/// pass any. Wasmtime's own accessors check bounds too; these checks say so in our code and turn a bad
/// pointer into <see cref="GuestMemoryException"/> (the call traps, the instance is broken and discarded).
/// A span is used at once and never kept: the memory may move when it grows.
/// </remarks>
internal sealed class GuestMemory(Memory memory)
{
    public long Length => memory.GetLength();

    public Span<byte> Span(int pointer, int length)
    {
        Check(pointer, length);
        return memory.GetSpan(pointer, length);
    }

    public int ReadInt32(int pointer)
    {
        Check(pointer, 4);
        return memory.ReadInt32(pointer);
    }

    public void WriteInt32(int pointer, int value)
    {
        Check(pointer, 4);
        memory.WriteInt32(pointer, value);
    }

    public void WriteInt64(int pointer, long value)
    {
        Check(pointer, 8);
        memory.WriteInt64(pointer, value);
    }

    /// <summary>A guest pointer is an unsigned 32-bit offset; null (0) is never valid for the host.</summary>
    private void Check(int pointer, int length)
    {
        ulong start = (uint)pointer;
        if (start == 0 || length < 0 || start + (ulong)length > (ulong)memory.GetLength())
        {
            throw new GuestMemoryException();
        }
    }
}

/// <summary>The guest passed a pointer or length outside its own memory: it is broken or hostile.</summary>
internal sealed class GuestMemoryException() : Exception("The guest passed a pointer outside its memory.");
