using Assembly = System.Reflection.Assembly;
using System.Security.Cryptography;
using Wasmtime;
using Module = Wasmtime.Module;

namespace Warden.Worker.Engines.QuickJs;

/// <summary>
/// The process's one Wasmtime engine and QuickJS module (npm <c>quickjs-wasi</c>: QuickJS-NG compiled to
/// wasm32-wasi, prebuilt, pinned by the web APIs' lock file and embedded), compiled once per worker before
/// the lockdown, and the linker that gives every instance Warden's imports and nothing else.
/// </summary>
/// <remarks>
/// SECURITY: the module is Warden's own code, but it is native code once compiled, so it is checked
/// against the SHA-256 pinned here before Cranelift sees it: a swapped file in the build's npm cache fails
/// the worker's start, never runs. The linker defines exactly the module's twelve imports (QuickJsImports):
/// no WASI context, so no file, socket, environment or argument reaches the guest.
/// </remarks>
internal static class QuickJsModule
{
    /// <summary>SHA-256 of quickjs-wasi 3.7.0's <c>quickjs.wasm</c> (the version WebApis/package-lock.json pins).</summary>
    public const string Sha256 = "c0bd8f296e18cf074969f6401b9ecb72609a1323818ec2b9bf7a8f8d740d1363";

    /// <summary>The package version, for the engine's description.</summary>
    public const string PackageVersion = "quickjs-wasi 3.7.0";

    /// <summary>
    /// The most native stack one entry into the guest may use (Wasmtime requires it below its async stack
    /// size, 2 MiB, even with async off). Far below the script thread's stack (32 MiB)
    /// and the preparer's (16 MiB), so that running out of it is Wasmtime's trap (a RangeError for the
    /// script), never a crashed thread; far above what QuickJS's own stack limit (QuickJsInstance) lets JS
    /// recursion reach, so that QuickJS's catchable RangeError comes first.
    /// </summary>
    public const int MaxWasmStackBytes = 1 << 20;

    private static readonly Lazy<byte[]> CheckedWasm = new(ReadCheckedModule, LazyThreadSafetyMode.ExecutionAndPublication);

    private static readonly Lazy<(Engine Engine, Linker Linker)> Running = new(
        () => MakeEngine(OptimizationLevel.Speed, pooled: true), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// The most stores of the executions' engine alive at once in a worker, with room to spare: the running one, the
    /// ones <c>InstanceSupply</c> keeps ready (2) or is making (1), and the retired ones waiting for teardown (at most
    /// 4, then the caller disposes). Each takes one slot of the pooling allocator; a store beyond the slots would fail
    /// to instantiate (a worker fault), so this is far above the count.
    /// </summary>
    internal const int PooledSlots = 32;

    /// <summary>
    /// How much of a slot's linear memory stays resident when its store is dropped, reset in place for the next
    /// instance instead of being given back to the kernel: the pages a small execution touches (the prepared
    /// image's heap and a few MB of growth). Measured on this project's 2-core VM: a page fault costs 8–14 µs
    /// here, so a tiny execution that touched ~150 fresh pages of the image paid ~2 ms in faults; with the pages
    /// kept resident, ~0.04 ms. The cost is memory: up to this much per slot in use, in the worker's own cgroup.
    /// </summary>
    internal const int KeepResidentBytes = 8 << 20;

    /// <summary>The engine every execution's store belongs to (the watchdog advances its epoch).</summary>
    public static Engine Engine => Running.Value.Engine;

    public static Linker Linker => Running.Value.Linker;

    /// <summary>The module's bytes, checked against <see cref="Sha256"/>.</summary>
    public static byte[] Wasm => CheckedWasm.Value;

    /// <summary>
    /// A throwaway engine with the module as shipped, compiled without optimisation (about half Cranelift's time),
    /// for the VMs that run only Warden's own code before any submission (<see cref="QuickJsPreparedModule"/>).
    /// </summary>
    public static QuickJsPreparation CreatePreparation()
    {
        var (engine, linker) = MakeEngine(OptimizationLevel.None);
        try
        {
            return new QuickJsPreparation(engine, linker, Module.FromBytes(engine, "quickjs", Wasm));
        }
        catch
        {
            linker.Dispose();
            engine.Dispose();
            throw;
        }
    }

    private static (Engine, Linker) MakeEngine(OptimizationLevel optimization, bool pooled = false)
    {
        // Fuel: every execution's usage.fuel and limits.fuel (deterministic: Wasmtime counts WebAssembly
        // operators, not time). Epochs: the watchdog's interrupt (QuickJsInstance.Interrupt), which stops
        // guest code anywhere, inside QuickJS's own C loops (regular expressions, sort, string building) too.
        var config = new Config()
            .WithFuelConsumption(true)
            .WithEpochInterruption(true)
            .WithMaximumStackSize(MaxWasmStackBytes)
            .WithWasmThreads(false)
            .WithMemoryInitCopyOnWrite(true)
            .WithOptimizationLevel(optimization);
        if (pooled)
        {
            // The pooling allocator: a fixed set of memory slots, each reset for its next instance (Wasmtime resets a
            // slot to the module's image before reuse: no instance sees another's memory; tested) and kept partly
            // resident (KeepResidentBytes). Every slot can hold the largest memory a wasm32 instance can have (4 GiB);
            // the store's own limit (the execution's budget) still decides how far an instance may grow.
            config = config.WithPoolingAllocationStrategy(new PoolingAllocationConfig()
                .WithMaxMemorySize(unchecked((nuint)(4UL << 30)))
                .WithMaxCoreInstances(PooledSlots)
                .WithMaxMemories(PooledSlots)
                .WithMaxTables(PooledSlots)
                .WithLinearMemoryKeepResidentBytes(KeepResidentBytes));
        }
        var engine = new Engine(config);
        try
        {
            var linker = new Linker(engine);
            QuickJsImports.Define(linker);
            return (engine, linker);
        }
        catch
        {
            engine.Dispose();
            throw;
        }
    }

    private static byte[] ReadCheckedModule()
    {
        byte[] wasm = ReadModule();
        string actual = Convert.ToHexStringLower(SHA256.HashData(wasm));
        if (actual != Sha256)
        {
            throw new InvalidOperationException($"The embedded QuickJS module's SHA-256 is {actual}, not the pinned {Sha256}.");
        }
        return wasm;
    }

    private static byte[] ReadModule()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Warden.Worker.QuickJs.wasm")
            ?? throw new InvalidOperationException("The embedded resource Warden.Worker.QuickJs.wasm is missing.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}

/// <summary>The module as shipped on an engine of its own, disposed once the prepared module is made.</summary>
internal sealed record QuickJsPreparation(Engine Engine, Linker Linker, Module Module) : IDisposable
{
    public void Dispose()
    {
        Module.Dispose();
        Linker.Dispose();
        Engine.Dispose();
    }
}
