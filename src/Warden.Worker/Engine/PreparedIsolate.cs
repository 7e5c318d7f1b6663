using System.Reflection;
using Microsoft.ClearScript;
using Microsoft.ClearScript.V8;
using Warden.Protocol;

namespace Warden.Worker.Engine;

/// <summary>
/// A fresh V8 isolate with one context, the prelude already evaluated, ready for exactly one
/// execution and then disposed. Nothing of one execution survives into the next.
/// </summary>
internal sealed class PreparedIsolate : IDisposable
{
    /// <summary>V8's stack limit for scripts; the script thread's own stack is far larger (see WorkerMain).</summary>
    public const int StackUsageBytes = 4 << 20;

    private static readonly string PreludeSource = LoadResource("Warden.Worker.Prelude.js");
    private static readonly string WebApisSource = LoadResource("Warden.Worker.WebApis.js");
    private static readonly string GuardsSource = LoadResource("Warden.Worker.BuiltinGuards.js");
    private static readonly DocumentInfo GuardsInfo = new("warden:builtin-guards");
    private static byte[]? _guardsCodeCache;

    /// <summary><c>navigator.userAgent</c>: names Warden and its version, nothing about the machine.</summary>
    internal static readonly string UserAgent = "Warden/" + (typeof(PreparedIsolate).Assembly.GetName().Version?.ToString(3) ?? "1.0.0");

    private PreparedIsolate(int memoryMb, V8Runtime runtime, V8ScriptEngine engine, InMemoryModuleLoader loader,
        ScriptObject start, ScriptObject tick, ScriptObject awaitModule)
    {
        MemoryMb = memoryMb;
        Runtime = runtime;
        Engine = engine;
        Loader = loader;
        Start = start;
        Tick = tick;
        AwaitModule = awaitModule;
    }

    public int MemoryMb { get; }
    public V8Runtime Runtime { get; }
    public V8ScriptEngine Engine { get; }
    public InMemoryModuleLoader Loader { get; }
    public ScriptObject Start { get; }
    public ScriptObject Tick { get; }
    public ScriptObject AwaitModule { get; }

    public static PreparedIsolate Create(int memoryMb, EngineFeatures features, SandboxBridge bridge)
    {
        ulong limitBytes = (ulong)memoryMb << 20;
        // One budget, several layers (MemoryBudgets, docs/limits.md). MaxOldSpaceSize is V8's hard
        // limit: reaching it aborts the process, so it sits above the soft limit (MaxHeapSize, checked
        // by sampling, which stops the script and keeps the worker) at the resident trip point.
        // The young generation is bounded too: V8 sizes it from the old generation, and at large
        // budgets its semispaces alone would eat the engine's allowance.
        var constraints = new V8RuntimeConstraints
        {
            MaxOldSpaceSize = MemoryBudgets.HardHeapLimitMb(memoryMb),
            MaxNewSpaceSize = YoungSpaceMb,
            MaxArrayBufferAllocation = limitBytes,
        };
        var runtime = new V8Runtime("warden", constraints);
        try
        {
            runtime.MaxHeapSize = (UIntPtr)limitBytes;
            runtime.HeapSizeSampleInterval = TimeSpan.FromMilliseconds(5);
            runtime.MaxStackUsage = (UIntPtr)StackUsageBytes;
            // No debugging flags (they open a TCP port), no task/promise, array or date conversion,
            // no global host members. Dynamic imports are served only by the in-memory loader.
            // HideHostExceptions: a .NET exception (e.g. the loader refusing an import) would
            // otherwise reach the script as `error.hostException`, a live host object.
            var engine = runtime.CreateScriptEngine("warden",
                V8ScriptEngineFlags.DisableGlobalMembers | V8ScriptEngineFlags.EnableDynamicModuleImports
                | V8ScriptEngineFlags.HideHostExceptions);
            engine.AllowReflection = false;
            var loader = new InMemoryModuleLoader();
            engine.DocumentSettings = new DocumentSettings { Loader = loader, AccessFlags = DocumentAccessFlags.None };
            var factory = (ScriptObject)engine.Evaluate(Compile(engine, new DocumentInfo("warden:prelude"), PreludeSource, ref _preludeCodeCache));
            var control = (ScriptObject)factory.Invoke(false, bridge,
                features.WebAssembly, features.SharedMemory, UserAgent, PreludeWords.Json);
            // Wrappers that keep long-running built-ins interruptible (BuiltinGuards.js); after the
            // prelude, which keeps its own captured originals, and before any user code.
            engine.Evaluate(Compile(engine, GuardsInfo, GuardsSource, ref _guardsCodeCache));
            return new PreparedIsolate(memoryMb, runtime, engine, loader,
                (ScriptObject)control[0], (ScriptObject)control[1], (ScriptObject)control[2]);
        }
        catch
        {
            runtime.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Evaluates the web APIs' bundle in this isolate and returns its completion value, the factory
    /// (the bundle defines no global). Only on demand, through <see cref="SandboxBridge.LoadWebApis"/>:
    /// compiling it from the code cache and running its top level costs a few milliseconds, which
    /// most small executions would otherwise pay for nothing.
    /// </summary>
    public object EvaluateWebApis() => Engine.Evaluate(Compile(Engine, WebApisInfo, WebApisSource, ref _webApisCodeCache));

    // One DocumentInfo for the bundle: the code cache is keyed to it.
    private static readonly DocumentInfo WebApisInfo = new("warden:web-apis");

    /// <summary>
    /// V8's young generation, in MB (<c>MaxNewSpaceSize</c>). Small enough to fit the engine
    /// allowance of the smallest budget; issue measurements found 4–8 MB also made allocation churn
    /// faster than V8's default (fewer first-touch page faults in a fresh heap).
    /// </summary>
    internal const int YoungSpaceMb = 8;

    public void Dispose()
    {
        // After a heap violation the runtime refuses further calls; disposal must still release it.
        try
        {
            Engine.Dispose();
        }
        finally
        {
            Runtime.Dispose();
        }
    }

    // V8's code caches for the prelude and the web APIs, made by the first isolate of the process:
    // later isolates skip parsing and compiling them. Only ever produced by this process from our
    // own embedded sources.
    private static byte[]? _preludeCodeCache;
    private static byte[]? _webApisCodeCache;

    private static V8Script Compile(V8ScriptEngine engine, DocumentInfo info, string source, ref byte[]? codeCache)
    {
        if (codeCache is { } cache)
        {
            return engine.Compile(info, source, V8CacheKind.Code, cache, out _);
        }
        var script = engine.Compile(info, source, V8CacheKind.Code, out byte[] produced);
        codeCache = produced is { Length: > 0 } ? produced : null;
        return script;
    }

    private static string LoadResource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"The embedded resource {name} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

/// <summary>Engine features that the operator enabled.</summary>
internal sealed record EngineFeatures(bool WebAssembly, bool SharedMemory);
