namespace Warden.Worker.Engines.QuickJs;

/// <summary>
/// Warden's own scripts as QuickJS bytecode: the prelude and the web APIs' bundle, compiled once per worker
/// from the embedded sources, so that each fresh VM only loads them.
/// </summary>
/// <remarks>
/// SECURITY: compiled in a VM of their own that never runs any code (<see cref="QuickJsInstance.CompileOwnScripts"/>),
/// on the worker's first use of the engine (its warm-up, before any submission). Bytecode read out of a VM
/// that had run a script could carry whatever that script made of the VM's memory into every later VM.
/// </remarks>
internal static class QuickJsScripts
{
    private static readonly Lazy<(byte[] Prelude, byte[] WebApis)> Compiled = new(
        () => QuickJsInstance.CompileOwnScripts(EmbeddedScripts.Read("Warden.Worker.PreludeQuickJs.js"), EmbeddedScripts.Read("Warden.Worker.WebApis.js")),
        LazyThreadSafetyMode.ExecutionAndPublication);

    public static byte[] Prelude => Compiled.Value.Prelude;

    public static byte[] WebApis => Compiled.Value.WebApis;
}
