using Microsoft.ClearScript;
using Microsoft.ClearScript.V8;

namespace Warden.Worker.Engines.V8;

/// <summary>
/// Warden's own scripts as a context gets them: the prelude, the built-in guards and the web APIs'
/// bundle (evaluated on demand), all from the worker's embedded resources. Only ever our own sources.
/// </summary>
internal abstract class V8Scripts
{
    private static readonly string PreludeSource = EmbeddedScripts.Read("Warden.Worker.Prelude.js");
    private static readonly string WebApisSource = EmbeddedScripts.Read("Warden.Worker.WebApis.js");
    private static readonly string GuardsSource = EmbeddedScripts.Read("Warden.Worker.BuiltinGuards.js");
    // One DocumentInfo per script: V8's code caches are keyed to it.
    private static readonly DocumentInfo PreludeInfo = new("warden:prelude");
    private static readonly DocumentInfo GuardsInfo = new("warden:builtin-guards");
    private static readonly DocumentInfo WebApisInfo = new("warden:web-apis");

    public abstract V8Script Prelude(V8ScriptEngine engine);

    public abstract V8Script Guards(V8ScriptEngine engine);

    /// <summary>
    /// The web APIs' bundle. Only on demand, through <see cref="SandboxBridge.LoadWebApis"/>: compiling it
    /// and running its top level costs a few milliseconds, which most small executions would otherwise pay for nothing.
    /// </summary>
    public abstract V8Script WebApis(V8ScriptEngine engine);

    // V8 code caches of Warden's scripts, made by the first isolate of the process from our own embedded
    // sources (the worker's warm-up, before any submission).
    private static byte[]? _preludeCache;
    private static byte[]? _guardsCache;
    private static byte[]? _webApisCache;

    /// <summary>
    /// Compiled in each engine (a compiled script belongs to one isolate), from the process's code caches:
    /// later isolates skip parsing and compiling what the caches hold.
    /// </summary>
    internal sealed class FromCodeCache : V8Scripts
    {
        public override V8Script Prelude(V8ScriptEngine engine) => Compile(engine, PreludeInfo, PreludeSource, ref _preludeCache);

        public override V8Script Guards(V8ScriptEngine engine) => Compile(engine, GuardsInfo, GuardsSource, ref _guardsCache);

        public override V8Script WebApis(V8ScriptEngine engine) => Compile(engine, WebApisInfo, WebApisSource, ref _webApisCache);

        private static V8Script Compile(V8ScriptEngine engine, DocumentInfo info, string source, ref byte[]? codeCache)
        {
            if (Volatile.Read(ref codeCache) is { } cache)
            {
                return engine.Compile(info, source, V8CacheKind.Code, cache, out _);
            }
            var script = engine.Compile(info, source, V8CacheKind.Code, out byte[] produced);
            Volatile.Write(ref codeCache, produced is { Length: > 0 } ? produced : null);
            return script;
        }
    }

    /// <summary>
    /// Compiled once in a warm isolate and shared by all its contexts. V8 keeps the functions it compiles
    /// lazily with the compiled script, so a function one context ran (the web APIs' <c>URL</c> parser, say)
    /// is compiled once per isolate, not once per execution. Compiled code holds no values of any context.
    /// </summary>
    internal sealed class PerIsolate(V8Runtime runtime) : V8Scripts, IDisposable
    {
        private V8Script? _prelude;
        private V8Script? _guards;
        private V8Script? _webApis;

        public override V8Script Prelude(V8ScriptEngine engine) => _prelude ??= Compile(PreludeInfo, PreludeSource, Volatile.Read(ref _preludeCache));

        public override V8Script Guards(V8ScriptEngine engine) => _guards ??= Compile(GuardsInfo, GuardsSource, Volatile.Read(ref _guardsCache));

        public override V8Script WebApis(V8ScriptEngine engine) => _webApis ??= Compile(WebApisInfo, WebApisSource, Volatile.Read(ref _webApisCache));

        /// <summary>From the process's code cache when there is one (the first context pays no compiling either).</summary>
        private V8Script Compile(DocumentInfo info, string source, byte[]? cache) => cache is null
            ? runtime.Compile(info, source)
            : runtime.Compile(info, source, V8CacheKind.Code, cache, out _);

        public void Dispose()
        {
            _prelude?.Dispose();
            _guards?.Dispose();
            _webApis?.Dispose();
        }
    }
}
