using Wasmtime;
using Module = Wasmtime.Module;

namespace Warden.Worker.Engines.QuickJs;

/// <summary>
/// The QuickJS module with its memory starting as an initialised VM with the prelude evaluated
/// (<see cref="QuickJsVmImage"/>): compiled once per worker, before the lockdown, so that a fresh VM costs an
/// instantiation, not an initialisation.
/// </summary>
/// <remarks>
/// Wasmtime maps a module's data segments as a copy-on-write image when it compiles the module, so a new instance
/// starts with the image's pages shared and copies only the pages it writes (measured on this project's 2-core
/// machine: initialising QuickJS and evaluating the prelude cost ~1.8 ms a VM; copying the same memory into a fresh
/// instance ~3.8 ms, every page written a fault; see docs/architecture.md for the figures with the image).
/// SECURITY: the image is made in this process from the module checked against <see cref="QuickJsModule.Sha256"/>,
/// by Warden's own code only, before any submission has run in the worker: no script's doing can reach another
/// execution through it. What a VM must not share with the others is renewed in every VM: <c>Math.random</c>'s
/// seed (<see cref="QuickJsInstance"/>); the prelude reads the clock only when a script runs.
/// </remarks>
internal sealed class QuickJsPreparedModule
{
    private static readonly Lazy<QuickJsPreparedModule> Made = new(Make, LazyThreadSafetyMode.ExecutionAndPublication);

    private QuickJsPreparedModule(Module module, QuickJsVmImage image, byte[] webApisBytecode)
    {
        Module = module;
        WebApisBytecode = webApisBytecode;
        Start = image.Start;
        Tick = image.Tick;
        Scratch = image.Scratch;
        RandomStateAddress = image.RandomStateAddress;
        ImageBytes = image.Memory.Length;
    }

    public static QuickJsPreparedModule Current => Made.Value;

    public Module Module { get; }

    /// <summary>The prelude's entry points and the host's scratch word: guest pointers, the same in every VM.</summary>
    public int Start { get; }

    public int Tick { get; }

    public int Scratch { get; }

    /// <summary>Where <c>Math.random</c>'s state is, reseeded in every VM.</summary>
    public int RandomStateAddress { get; }

    /// <summary>The web API bundle as QuickJS bytecode, evaluated in a VM when its script first touches a web API.</summary>
    public byte[] WebApisBytecode { get; }

    /// <summary>The size of the memory every VM starts with.</summary>
    public int ImageBytes { get; }

    private static QuickJsPreparedModule Make()
    {
        (byte[] Prelude, byte[] WebApis) scripts;
        QuickJsVmImage image;
        using (var preparation = QuickJsModule.CreatePreparation())
        {
            scripts = QuickJsInstance.CompileOwnScripts(preparation,
                EmbeddedScripts.Read("Warden.Worker.PreludeQuickJs.js"), EmbeddedScripts.Read("Warden.Worker.WebApis.js"));
            image = QuickJsInstance.MakeImage(preparation, scripts.Prelude);
        }
        byte[] wasm = WasmMemoryImage.Build(QuickJsModule.Wasm, image.Memory, [image.StackPointer]);
        return new QuickJsPreparedModule(Module.FromBytes(QuickJsModule.Engine, "quickjs-prepared", wasm), image, scripts.WebApis);
    }
}

/// <summary>An initialised QuickJS VM's memory (address 0 first) and the guest pointers the host keeps for it.</summary>
internal sealed record QuickJsVmImage(byte[] Memory, int StackPointer, int Start, int Tick, int Scratch, int RandomStateAddress);
