namespace Warden.Worker.Engines.QuickJs;

/// <summary>
/// Rewrites a WebAssembly module so that its linear memory starts as a given image: the image becomes the module's
/// data segments and its size the memory's minimum. Wasmtime turns a module's data segments into a copy-on-write
/// memory image when it compiles the module, so every instance then starts with that memory mapped, not copied,
/// and pays only for the pages it writes (see <see cref="QuickJsPreparedModule"/>).
/// </summary>
/// <remarks>
/// Only the shape the QuickJS module has is accepted (anything else throws, and the worker fails to start): one
/// memory, defined in the module, not shared, no maximum; only active data segments at constant offsets; globals
/// whose initial values are constants equal to the values the image was taken with (a module whose globals changed
/// would need them rewritten too: this one's only mutable global is the C stack pointer, which is back at its start
/// whenever no call is running). The rest of the module (code, tables, exports) is copied byte for byte.
/// </remarks>
internal static class WasmMemoryImage
{
    private const int PageBytes = 64 << 10;

    /// <summary>Runs of zero bytes at least this long become gaps between segments (Wasmtime's image is zero there anyway).</summary>
    private const int ZeroRunForGap = 4096;

    private const byte MemorySectionId = 5, GlobalSectionId = 6, DataSectionId = 11, DataCountSectionId = 12;

    /// <summary>
    /// <paramref name="wasm"/> with its memory starting as <paramref name="memory"/> (the whole linear memory of an
    /// instance, address 0 first). <paramref name="globals"/>: the value of each i32 global when the image was taken,
    /// in the module's order; each must equal its initial value.
    /// </summary>
    public static byte[] Build(byte[] wasm, ReadOnlySpan<byte> memory, IReadOnlyList<int> globals)
    {
        if (memory.Length % PageBytes != 0)
        {
            throw new InvalidOperationException("A memory image is a whole number of pages.");
        }
        if (wasm.Length < 8 || BitConverter.ToUInt32(wasm, 0) != 0x6D736100 || BitConverter.ToUInt32(wasm, 4) != 1)
        {
            throw new InvalidOperationException("Not a WebAssembly 1.0 module.");
        }
        var segments = Segments(memory);
        var output = new MemoryStream(wasm.Length + memory.Length);
        output.Write(wasm, 0, 8);
        bool sawMemory = false, sawData = false;
        int position = 8;
        while (position < wasm.Length)
        {
            int sectionStart = position;
            byte id = wasm[position++];
            int size = (int)ReadUnsigned(wasm, ref position);
            int contentStart = position;
            position = checked(contentStart + size);
            if (position > wasm.Length)
            {
                throw new InvalidOperationException("A section runs past the end of the module.");
            }
            var content = wasm.AsSpan(contentStart, size);
            switch (id)
            {
                case MemorySectionId:
                    sawMemory = true;
                    WriteSection(output, MemorySectionId, MemorySection(content, memory.Length / PageBytes));
                    break;
                case GlobalSectionId:
                    CheckGlobals(content, globals);
                    output.Write(wasm, sectionStart, position - sectionStart);
                    break;
                case DataCountSectionId:
                    WriteSection(output, DataCountSectionId, Unsigned((uint)segments.Count));
                    break;
                case DataSectionId:
                    sawData = true;
                    CheckActiveSegmentsOnly(content);
                    WriteSection(output, DataSectionId, DataSection(memory, segments));
                    break;
                default:
                    output.Write(wasm, sectionStart, position - sectionStart);
                    break;
            }
        }
        if (!sawMemory || !sawData)
        {
            throw new InvalidOperationException("The module defines no memory or no data.");
        }
        return output.ToArray();
    }

    private static byte[] MemorySection(ReadOnlySpan<byte> content, int minimumPages)
    {
        int position = 0;
        if (ReadUnsigned(content, ref position) != 1)
        {
            throw new InvalidOperationException("The module must define exactly one memory.");
        }
        byte flags = content[position++];
        uint oldMinimum = ReadUnsigned(content, ref position);
        // 0: a minimum and no maximum. A maximum, shared or 64-bit memory is another shape than the one this was made for.
        if (flags != 0 || position != content.Length || oldMinimum > minimumPages)
        {
            throw new InvalidOperationException("The module's memory is not a plain 32-bit memory without a maximum.");
        }
        return [1, 0, .. Unsigned((uint)minimumPages)];
    }

    private static void CheckGlobals(ReadOnlySpan<byte> content, IReadOnlyList<int> globals)
    {
        int position = 0;
        uint count = ReadUnsigned(content, ref position);
        if (count != globals.Count)
        {
            throw new InvalidOperationException("The image's globals do not match the module's.");
        }
        for (int i = 0; i < count; i++)
        {
            // i32, then mutability, then the constant expression `i32.const n; end`.
            if (content[position++] != 0x7F)
            {
                throw new InvalidOperationException("Only i32 globals are expected.");
            }
            position++;
            if (content[position++] != 0x41)
            {
                throw new InvalidOperationException("A global's initial value is not a constant.");
            }
            int initial = ReadSigned(content, ref position);
            if (content[position++] != 0x0B || initial != globals[i])
            {
                throw new InvalidOperationException("A global changed since instantiation: the image would need it rewritten.");
            }
        }
    }

    private static void CheckActiveSegmentsOnly(ReadOnlySpan<byte> content)
    {
        int position = 0;
        uint count = ReadUnsigned(content, ref position);
        for (int i = 0; i < count; i++)
        {
            // Flag 0: active, memory 0, offset `i32.const n; end`. A passive segment (code's memory.init) would be
            // lost with the old data section, so it is refused.
            if (ReadUnsigned(content, ref position) != 0 || content[position++] != 0x41)
            {
                throw new InvalidOperationException("The module has a data segment that is not active at a constant offset.");
            }
            ReadSigned(content, ref position);
            if (content[position++] != 0x0B)
            {
                throw new InvalidOperationException("A data segment's offset is not a constant.");
            }
            int length = (int)ReadUnsigned(content, ref position);
            position = checked(position + length);
        }
    }

    /// <summary>The image's non-zero stretches: (offset, length), apart where zeros run for at least <see cref="ZeroRunForGap"/> bytes.</summary>
    private static List<(int Offset, int Length)> Segments(ReadOnlySpan<byte> memory)
    {
        var segments = new List<(int, int)>();
        int position = 0;
        while (true)
        {
            int start = memory[position..].IndexOfAnyExcept((byte)0);
            if (start < 0)
            {
                return segments;
            }
            start += position;
            int end = start;
            while (true)
            {
                int zero = memory[end..].IndexOf((byte)0);
                if (zero < 0)
                {
                    end = memory.Length;
                    break;
                }
                zero += end;
                int next = memory[zero..].IndexOfAnyExcept((byte)0);
                int zerosEnd = next < 0 ? memory.Length : zero + next;
                if (zerosEnd - zero >= ZeroRunForGap || next < 0)
                {
                    end = zero;
                    break;
                }
                end = zerosEnd;
            }
            segments.Add((start, end - start));
            position = end;
        }
    }

    private static byte[] DataSection(ReadOnlySpan<byte> memory, List<(int Offset, int Length)> segments)
    {
        var content = new MemoryStream(memory.Length / 2);
        content.Write(Unsigned((uint)segments.Count));
        foreach (var (offset, length) in segments)
        {
            content.WriteByte(0);
            content.WriteByte(0x41);
            content.Write(Signed(offset));
            content.WriteByte(0x0B);
            content.Write(Unsigned((uint)length));
            content.Write(memory.Slice(offset, length));
        }
        return content.ToArray();
    }

    private static void WriteSection(MemoryStream output, byte id, byte[] content)
    {
        output.WriteByte(id);
        output.Write(Unsigned((uint)content.Length));
        output.Write(content);
    }

    private static uint ReadUnsigned(ReadOnlySpan<byte> bytes, ref int position)
    {
        uint value = 0;
        for (int shift = 0; shift < 35; shift += 7)
        {
            byte b = bytes[position++];
            value |= (uint)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
        throw new InvalidOperationException("A LEB128 number is too long.");
    }

    private static int ReadSigned(ReadOnlySpan<byte> bytes, ref int position)
    {
        int value = 0, shift = 0;
        byte b;
        do
        {
            if (shift >= 35)
            {
                throw new InvalidOperationException("A LEB128 number is too long.");
            }
            b = bytes[position++];
            value |= (b & 0x7F) << shift;
            shift += 7;
        }
        while (b >= 0x80);
        return shift < 32 && (b & 0x40) != 0 ? value | (-1 << shift) : value;
    }

    private static byte[] Unsigned(uint value)
    {
        var bytes = new List<byte>(5);
        do
        {
            byte b = (byte)(value & 0x7F);
            value >>= 7;
            bytes.Add(value != 0 ? (byte)(b | 0x80) : b);
        }
        while (value != 0);
        return [.. bytes];
    }

    private static byte[] Signed(int value)
    {
        var bytes = new List<byte>(5);
        while (true)
        {
            byte b = (byte)(value & 0x7F);
            value >>= 7;
            bool done = (value == 0 && (b & 0x40) == 0) || (value == -1 && (b & 0x40) != 0);
            bytes.Add(done ? b : (byte)(b | 0x80));
            if (done)
            {
                return [.. bytes];
            }
        }
    }
}
