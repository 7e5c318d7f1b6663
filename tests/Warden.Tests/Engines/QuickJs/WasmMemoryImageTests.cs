using Wasmtime;
using Warden.Worker.Engines.QuickJs;
using Xunit;

namespace Warden.Tests.Engines.QuickJs;

/// <summary>
/// The module rewriter behind the prepared QuickJS module: an instance of the rewritten module starts with exactly
/// the image, and any module shape it was not made for is refused (the worker then fails to start; it never runs a
/// half-rewritten module).
/// </summary>
public sealed class WasmMemoryImageTests
{
    private const int Page = 64 << 10;

    [Fact]
    public void AnInstanceStartsWithTheImageAndItsSize()
    {
        var image = new byte[3 * Page];
        image[8] = 1;                                    // early bytes (the module's own data was at 0)
        "prepared"u8.CopyTo(image.AsSpan(Page + 100));   // after a long run of zeros: a segment of its own
        image[^1] = 0xFF;                                // the last byte of the last page
        byte[] rewritten = WasmMemoryImage.Build(Module(minimumPages: 1, globalInitial: 5), image, [5]);

        using var engine = new Engine();
        using var module = Wasmtime.Module.FromBytes(engine, "test", rewritten);
        using var store = new Store(engine);
        var instance = new Linker(engine).Instantiate(store, module);
        var memory = instance.GetMemory("memory")!;
        Assert.Equal(3L * Page, memory.GetLength());
        Assert.True(memory.GetSpan(0, image.Length).SequenceEqual(image));
        // The module's own data segment ("ab" at 0) is gone: the image holds what the memory held when it was taken.
        Assert.Equal(0, memory.ReadByte(0));
        Assert.Equal(5, (int)instance.GetGlobal("sp")!.GetValue()!);
    }

    [Fact]
    public void AWriteInOneInstanceIsNotSeenByTheNext()
    {
        var image = new byte[Page];
        image[42] = 7;
        byte[] rewritten = WasmMemoryImage.Build(Module(minimumPages: 1, globalInitial: 0), image, [0]);
        using var engine = new Engine(new Config().WithMemoryInitCopyOnWrite(true));
        using var module = Wasmtime.Module.FromBytes(engine, "test", rewritten);
        for (int i = 0; i < 2; i++)
        {
            using var store = new Store(engine);
            var memory = new Linker(engine).Instantiate(store, module).GetMemory("memory")!;
            Assert.Equal(7, memory.ReadByte(42));
            memory.WriteByte(42, 99);
        }
    }

    /// <summary>
    /// The executions' engine reuses memory slots (the pooling allocator, pages kept resident): every instance of the
    /// prepared module must still start with exactly the image — nothing written into the image's pages, nor into
    /// memory grown past it, by any earlier instance in any slot (more instances than slots, several live at once).
    /// </summary>
    [Fact]
    public void EveryPooledInstanceStartsWithThePristineImage()
    {
        var prepared = QuickJsPreparedModule.Current;
        byte[] pristine;
        using (var first = new Store(QuickJsModule.Engine))
        {
            var memory = QuickJsModule.Linker.Instantiate(first, prepared.Module).GetMemory("memory")!;
            pristine = memory.GetSpan(0, prepared.ImageBytes).ToArray();
        }
        var live = new Queue<Store>();
        try
        {
            for (int i = 0; i < 3 * QuickJsModule.PooledSlots; i++)
            {
                var store = new Store(QuickJsModule.Engine);
                live.Enqueue(store);
                var memory = QuickJsModule.Linker.Instantiate(store, prepared.Module).GetMemory("memory")!;
                Assert.Equal(prepared.ImageBytes, memory.GetLength());
                Assert.True(memory.GetSpan(0, prepared.ImageBytes).SequenceEqual(pristine), $"instance {i} did not start with the image");
                // Dirty every page of the image and 2 MB past it, inside and beyond what stays resident.
                var image = memory.GetSpan(0, prepared.ImageBytes);
                for (int p = 0; p < image.Length; p += 4096)
                {
                    image[p] ^= 0x5A;
                }
                memory.Grow(32);
                memory.GetSpan(prepared.ImageBytes, 32 * Page).Fill(0xA5);
                if (live.Count > 3)
                {
                    live.Dequeue().Dispose();
                }
            }
        }
        finally
        {
            while (live.Count > 0)
            {
                live.Dequeue().Dispose();
            }
        }
    }

    [Fact]
    public void TheRealQuickJsModuleIsAccepted()
    {
        var image = new byte[24 * Page];
        image[1 << 20] = 1;
        byte[] rewritten = WasmMemoryImage.Build(QuickJsModule.Wasm, image, [1 << 20]);
        Assert.True(rewritten.Length > image.Length / 1000);
    }

    public static TheoryData<string, byte[], byte[], int[]> Refusals() => new()
    {
        { "not a whole number of pages", Module(1, 0), new byte[Page + 1], [0] },
        { "a global changed since instantiation", Module(1, 5), new byte[Page], [6] },
        { "another number of globals", Module(1, 5), new byte[Page], [5, 5] },
        { "an image smaller than the module's memory", Module(2, 0), new byte[Page], [0] },
        { "a memory with a maximum", Module(1, 0, maximumPages: 4), new byte[Page], [0] },
        { "a passive data segment", Module(1, 0, passiveSegment: true), new byte[Page], [0] },
        { "not WebAssembly", "not wasm at all"u8.ToArray(), new byte[Page], [0] },
        { "a section running past the end", [.. Module(1, 0)[..^3]], new byte[Page], [0] },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void ShapesItWasNotMadeForAreRefused(string shape, byte[] wasm, byte[] image, int[] globals)
    {
        Assert.False(string.IsNullOrEmpty(shape));
        Assert.ThrowsAny<Exception>(() => WasmMemoryImage.Build(wasm, image, globals));
    }

    /// <summary>
    /// A minimal module: one exported memory, one exported mutable i32 global "sp", and one data segment ("ab" at 0,
    /// active; or passive when asked).
    /// </summary>
    private static byte[] Module(int minimumPages, int globalInitial, int? maximumPages = null, bool passiveSegment = false)
    {
        var bytes = new List<byte> { 0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00 };
        void Section(byte id, List<byte> content)
        {
            bytes.Add(id);
            bytes.AddRange(Leb(content.Count));
            bytes.AddRange(content);
        }
        Section(5, maximumPages is { } max
            ? [1, 1, .. Leb(minimumPages), .. Leb(max)]
            : [1, 0, .. Leb(minimumPages)]);
        Section(6, [1, 0x7F, 1, 0x41, .. SignedLeb(globalInitial), 0x0B]);
        Section(7, [2, 6, .. "memory"u8.ToArray(), 2, 0, 2, .. "sp"u8.ToArray(), 3, 0]);
        Section(12, [1]);
        Section(11, passiveSegment
            ? [1, 1, 2, (byte)'a', (byte)'b']
            : [1, 0, 0x41, 0, 0x0B, 2, (byte)'a', (byte)'b']);
        return [.. bytes];
    }

    private static List<byte> Leb(int value)
    {
        var result = new List<byte>();
        uint v = (uint)value;
        do
        {
            byte b = (byte)(v & 0x7F);
            v >>= 7;
            result.Add(v != 0 ? (byte)(b | 0x80) : b);
        }
        while (v != 0);
        return result;
    }

    private static List<byte> SignedLeb(int value)
    {
        var result = new List<byte>();
        while (true)
        {
            byte b = (byte)(value & 0x7F);
            value >>= 7;
            bool done = (value == 0 && (b & 0x40) == 0) || (value == -1 && (b & 0x40) != 0);
            result.Add(done ? b : (byte)(b | 0x80));
            if (done)
            {
                return result;
            }
        }
    }
}
