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

    private static readonly Lazy<(Engine Engine, Module Module, Linker Linker)> Loaded = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    public static Engine Engine => Loaded.Value.Engine;

    public static Module Module => Loaded.Value.Module;

    public static Linker Linker => Loaded.Value.Linker;

    private static (Engine, Module, Linker) Load()
    {
        byte[] wasm = ReadModule();
        string actual = Convert.ToHexStringLower(SHA256.HashData(wasm));
        if (actual != Sha256)
        {
            throw new InvalidOperationException($"The embedded QuickJS module's SHA-256 is {actual}, not the pinned {Sha256}.");
        }
        // Fuel: every execution's usage.fuel and limits.fuel (deterministic: Wasmtime counts WebAssembly
        // operators, not time). Epochs: the watchdog's interrupt (QuickJsInstance.Interrupt), which stops
        // guest code anywhere, inside QuickJS's own C loops (regular expressions, sort, string building) too.
        var config = new Config()
            .WithFuelConsumption(true)
            .WithEpochInterruption(true)
            .WithMaximumStackSize(MaxWasmStackBytes)
            .WithWasmThreads(false)
            .WithOptimizationLevel(OptimizationLevel.Speed);
        var engine = new Engine(config);
        try
        {
            var module = Module.FromBytes(engine, "quickjs", wasm);
            var linker = new Linker(engine);
            QuickJsImports.Define(linker);
            return (engine, module, linker);
        }
        catch
        {
            engine.Dispose();
            throw;
        }
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
