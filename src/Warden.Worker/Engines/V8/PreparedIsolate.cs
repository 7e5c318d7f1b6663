using System.Reflection;
using Microsoft.ClearScript;
using Microsoft.ClearScript.JavaScript;
using Microsoft.ClearScript.V8;
using Warden.Protocol;

namespace Warden.Worker.Engines.V8;

/// <summary>
/// A fresh V8 isolate with one context, the prelude already evaluated, ready for exactly one
/// execution and then disposed. Nothing of one execution survives into the next. V8's side of
/// <see cref="IEngineInstance"/>: ClearScript's exceptions end here, turned into <see cref="EngineAbortException"/>.
/// </summary>
internal sealed class PreparedIsolate : IEngineInstance
{
    /// <summary>V8's stack limit for scripts; the script thread's own stack is far larger (see WorkerMain).</summary>
    public const int StackUsageBytes = 4 << 20;

    /// <summary>The document name of a classic script: what its stack frames show.</summary>
    internal const string ClassicScriptName = "script.js";

    private const string HeapViolationText = "exceeded its memory limit";

    private static readonly string PreludeSource = LoadResource("Warden.Worker.Prelude.js");
    private static readonly string WebApisSource = LoadResource("Warden.Worker.WebApis.js");
    private static readonly string GuardsSource = LoadResource("Warden.Worker.BuiltinGuards.js");
    private static readonly DocumentInfo GuardsInfo = new("warden:builtin-guards");
    private static byte[]? _guardsCodeCache;

    /// <summary><c>navigator.userAgent</c>: names Warden and its version, nothing about the machine.</summary>
    internal static readonly string UserAgent = "Warden/" + (typeof(PreparedIsolate).Assembly.GetName().Version?.ToString(3) ?? "1.0.0");

    /// <summary>What the prelude's event loop answers (see tick in Prelude/entry.js): settled, or pending with nothing left.</summary>
    private const double LoopSettled = -2, LoopIdle = -1;

    private readonly V8Runtime _runtime;
    private readonly V8ScriptEngine _engine;
    private readonly InMemoryModuleLoader _loader;
    private readonly ScriptObject _start;
    private readonly ScriptObject _tick;
    private readonly ScriptObject _awaitModule;

    private PreparedIsolate(V8Runtime runtime, V8ScriptEngine engine, InMemoryModuleLoader loader,
        ScriptObject start, ScriptObject tick, ScriptObject awaitModule)
    {
        _runtime = runtime;
        _engine = engine;
        _loader = loader;
        _start = start;
        _tick = tick;
        _awaitModule = awaitModule;
    }

    public static PreparedIsolate Create(int memoryMb, EngineFeatures features, ExecutionRecorder recorder)
    {
        ulong limitBytes = (ulong)MemoryBudgets.BudgetBytes(memoryMb);
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
            var bridge = new SandboxBridge(recorder, () => EvaluateWebApis(engine));
            var factory = (ScriptObject)engine.Evaluate(Compile(engine, new DocumentInfo("warden:prelude"), PreludeSource, ref _preludeCodeCache));
            var control = (ScriptObject)factory.Invoke(false, bridge,
                features.WebAssembly, features.SharedMemory, UserAgent, PreludeWords.Json);
            // Wrappers that keep long-running built-ins interruptible (builtin-guards.js); after the
            // prelude, which keeps its own captured originals, and before any user code.
            engine.Evaluate(Compile(engine, GuardsInfo, GuardsSource, ref _guardsCodeCache));
            return new PreparedIsolate(runtime, engine, loader,
                (ScriptObject)control[0], (ScriptObject)control[1], (ScriptObject)control[2]);
        }
        catch
        {
            runtime.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Evaluates the web APIs' bundle in an isolate and returns its completion value, the factory
    /// (the bundle defines no global). Only on demand, through <see cref="SandboxBridge.LoadWebApis"/>:
    /// compiling it from the code cache and running its top level costs a few milliseconds, which
    /// most small executions would otherwise pay for nothing.
    /// </summary>
    private static object EvaluateWebApis(V8ScriptEngine engine) => engine.Evaluate(Compile(engine, WebApisInfo, WebApisSource, ref _webApisCodeCache));

    // One DocumentInfo for the bundle: the code cache is keyed to it.
    private static readonly DocumentInfo WebApisInfo = new("warden:web-apis");

    /// <summary>
    /// V8's young generation, in MB (<c>MaxNewSpaceSize</c>). Small enough to fit the engine
    /// allowance of the smallest budget; issue measurements found 4–8 MB also made allocation churn
    /// faster than V8's default (fewer first-touch page faults in a fresh heap).
    /// </summary>
    internal const int YoungSpaceMb = 8;

    public void Start(ExecuteMessage request, Func<bool> mayContinue) => Enter(() =>
    {
        var limits = request.Limits;
        if (request.Module)
        {
            _loader.SetEntry(request.Code, request.Modules);
        }
        _start.Invoke(false, request.Input, request.Module ? "" : request.Code, request.Module,
            request.Module ? InMemoryModuleLoader.EntrySpecifier : ClassicScriptName,
            string.Join('\n', request.Module ? _loader.DocumentNames : [ClassicScriptName]),
            limits.MaxConsoleBytes, limits.MaxResultBytes, limits.MaxErrorTextBytes, (double)MemoryBudgets.BudgetBytes(limits.MemoryMb));
        // The prelude's import() has run the module graph; unless it already failed (load, parse
        // or link), the wrapper's evaluation tells how evaluation ended.
        if (request.Module && mayContinue())
        {
            EvaluateModule();
        }
        return 0;
    });

    public EventLoopTurn Tick() => Enter(() => AsFiniteNumber(_tick.Invoke(false)) switch
    {
        LoopSettled => new EventLoopTurn(EventLoopState.Settled),
        LoopIdle => new EventLoopTurn(EventLoopState.Idle),
        double.NaN => new EventLoopTurn(EventLoopState.Broken),
        var next => new EventLoopTurn(EventLoopState.TimerPending, next),
    });

    /// <summary>The event loop speaks in finite numbers; anything else (a corrupted prelude) is NaN.</summary>
    private static double AsFiniteNumber(object? value) => value switch
    {
        double d when double.IsFinite(d) => d,
        int i => i,
        _ => double.NaN,
    };

    /// <summary>
    /// V8's interrupt: the script stops at its next check (the prelude's guards keep long built-ins
    /// checking). The only call that does not take the isolate lock the running script holds.
    /// </summary>
    public void Interrupt()
    {
        try
        {
            _engine.Interrupt();
        }
        catch (ObjectDisposedException)
        {
            // The execution ended and its isolate went away between two checks: nothing to stop.
        }
    }

    public long MemoryInUseBytes()
    {
        try
        {
            var info = _runtime.GetHeapInfo();
            return (long)(info.UsedHeapSize + info.TotalExternalSize);
        }
        catch (ScriptEngineException)
        {
            return 0;
        }
    }

    public ReportedFailure LocateSyntaxError(ExecuteMessage request, ReportedFailure failure) =>
        SyntaxErrorLocator.Locate(_engine, request, failure);

    /// <summary>
    /// Evaluates Warden's fixed wrapper module (see startModule in Engines/V8/modules-v8.js) and gives its evaluation
    /// to the prelude to await. The wrapper's top-level await makes ClearScript return the evaluation
    /// as a promise even when the submission threw at its top level, so the error is described inside
    /// the isolate like any other; nothing a script made is read here. Should ClearScript still throw
    /// (it would be Warden's fault, not the script's), the runner reports an internal error and
    /// forwards none of the exception's text.
    /// </summary>
    private void EvaluateModule()
    {
        object evaluation = _engine.Evaluate(
            new DocumentInfo(InMemoryModuleLoader.WrapperSpecifier) { Category = ModuleCategory.Standard },
            InMemoryModuleLoader.WrapperSource);
        _awaitModule.Invoke(false, evaluation);
    }

    /// <summary>
    /// One entry into the isolate. ClearScript's exceptions are turned into the neutral kinds here and
    /// their text dropped: the prelude's entry points catch every script exception, so what still
    /// arrives is an interrupt, the heap limit, or an engine/prelude failure whose text may carry
    /// script-made strings.
    /// </summary>
    private static T Enter<T>(Func<T> entry)
    {
        try
        {
            return entry();
        }
        catch (ScriptInterruptedException)
        {
            throw new EngineAbortException(EngineAbort.Interrupted);
        }
        catch (ScriptEngineException e) when (IsHeapViolation(e))
        {
            throw new EngineAbortException(EngineAbort.MemoryLimit);
        }
        catch (ScriptEngineException)
        {
            throw new EngineAbortException(EngineAbort.Fault);
        }
    }

    /// <summary>
    /// ClearScript's heap-limit interrupt. Decided by IsFatal, which only the engine sets: a script
    /// can throw any text, including this message (measured: `throw 'The V8 runtime has exceeded its
    /// memory limit'` reproduces it exactly).
    /// </summary>
    private static bool IsHeapViolation(ScriptEngineException e) =>
        e.IsFatal && e.Message.Contains(HeapViolationText, StringComparison.Ordinal);

    public void Dispose()
    {
        // After a heap violation the runtime refuses further calls; disposal must still release it.
        try
        {
            _engine.Dispose();
        }
        finally
        {
            _runtime.Dispose();
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
