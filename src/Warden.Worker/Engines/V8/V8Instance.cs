using Microsoft.ClearScript;
using Microsoft.ClearScript.JavaScript;
using Microsoft.ClearScript.V8;
using Warden.Protocol;

namespace Warden.Worker.Engines.V8;

/// <summary>
/// One V8 context with the prelude already evaluated, made for exactly one execution and then disposed:
/// in a fresh isolate of its own (<see cref="CreateFresh"/>, <see cref="Warden.IsolationUnit"/> Isolate), or
/// in a warm isolate it borrows (<see cref="V8WarmIsolate"/>, Context). V8's side of <see cref="IEngineInstance"/>:
/// ClearScript's exceptions end here, turned into <see cref="EngineAbortException"/>.
/// </summary>
internal sealed class V8Instance : IEngineInstance
{
    /// <summary>V8's stack limit for scripts; the script thread's own stack is far larger (see WorkerMain).</summary>
    public const int StackUsageBytes = 4 << 20;

    /// <summary>The document name of a classic script: what its stack frames show.</summary>
    internal const string ClassicScriptName = "script.js";

    private const string HeapViolationText = "exceeded its memory limit";

    /// <summary>What the prelude's event loop answers (see tick in Prelude/entry.js): settled, or pending with nothing left.</summary>
    private const double LoopSettled = -2, LoopIdle = -1;

    /// <summary>The isolate when this context owns it (a fresh one); null when it borrows a warm isolate.</summary>
    private readonly V8Runtime? _ownedRuntime;
    private readonly V8Runtime _runtime;
    private readonly V8ScriptEngine _engine;
    private readonly SandboxBridge _bridge;
    private readonly InMemoryModuleLoader _loader;
    private readonly ScriptObject _start;
    private readonly ScriptObject _tick;
    private readonly ScriptObject _awaitModule;
    private readonly ScriptObject _revokeBridge;

    /// <summary>
    /// Every handle .NET got to an object of this context (see <see cref="Hold"/>), released with the context.
    /// </summary>
    private readonly List<ScriptObject> _held;

    private V8Instance(V8Runtime runtime, bool ownsRuntime, V8ScriptEngine engine, SandboxBridge bridge, InMemoryModuleLoader loader,
        ScriptObject start, ScriptObject tick, ScriptObject awaitModule, ScriptObject revokeBridge, List<ScriptObject> held)
    {
        _runtime = runtime;
        _ownedRuntime = ownsRuntime ? runtime : null;
        _engine = engine;
        _bridge = bridge;
        _loader = loader;
        _start = start;
        _tick = tick;
        _awaitModule = awaitModule;
        _revokeBridge = revokeBridge;
        _held = held;
    }

    /// <summary>
    /// Remembers a handle to an object of this context, to be released when the context is disposed.
    /// </summary>
    /// <remarks>
    /// A <see cref="ScriptObject"/> holds a V8 persistent handle until it is disposed or finalised by the .NET
    /// collector, whenever that runs; its object keeps its context (global object and all) alive. In a warm
    /// isolate that made what an execution left reachable from its global outlive the execution and count
    /// against the next one's budget (measured: 28 MB left by A made B's 110 MB of a 128 MB budget fail with
    /// the heap limit, which B alone passed; Isolation/WarmContextLeakTests).
    /// </remarks>
    private static T Hold<T>(List<ScriptObject> held, T value)
    {
        if (value is ScriptObject handle)
        {
            held.Add(handle);
        }
        return value;
    }

    /// <summary>A fresh isolate with one context: nothing of any other execution was ever in it.</summary>
    public static V8Instance CreateFresh(int memoryMb, EngineFeatures features, ExecutionRecorder recorder)
    {
        var runtime = V8Isolates.CreateRuntime(memoryMb);
        try
        {
            return CreateContext(runtime, ownsRuntime: true, V8Isolates.PerProcessScripts, features, recorder);
        }
        catch
        {
            runtime.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A fresh context in <paramref name="runtime"/>: its own global object and built-ins, the prelude evaluated
    /// in it with a bridge of its own (revoked when the context is disposed), then the built-in guards.
    /// </summary>
    internal static V8Instance CreateContext(V8Runtime runtime, bool ownsRuntime, V8Scripts scripts,
        EngineFeatures features, ExecutionRecorder recorder)
    {
        // No debugging flags (they open a TCP port), no task/promise, array or date conversion,
        // no global host members. Dynamic imports are served only by the in-memory loader.
        // HideHostExceptions: a .NET exception (e.g. the loader refusing an import) would
        // otherwise reach the script as `error.hostException`, a live host object.
        var engine = runtime.CreateScriptEngine("warden",
            V8ScriptEngineFlags.DisableGlobalMembers | V8ScriptEngineFlags.EnableDynamicModuleImports
            | V8ScriptEngineFlags.HideHostExceptions);
        try
        {
            engine.AllowReflection = false;
            var loader = new InMemoryModuleLoader();
            engine.DocumentSettings = new DocumentSettings { Loader = loader, AccessFlags = DocumentAccessFlags.None };
            var held = new List<ScriptObject>();
            var bridge = new SandboxBridge(recorder, () => Hold(held, engine.Evaluate(scripts.WebApis(engine))));
            var factory = Hold(held, (ScriptObject)engine.Evaluate(scripts.Prelude(engine)));
            var control = Hold(held, (ScriptObject)factory.Invoke(false, bridge,
                features.WebAssembly, features.SharedMemory, EmbeddedScripts.UserAgent, PreludeWords.Json));
            // Wrappers that keep long-running built-ins interruptible (builtin-guards.js); after the
            // prelude, which keeps its own captured originals, and before any user code.
            Hold(held, engine.Evaluate(scripts.Guards(engine)));
            return new V8Instance(runtime, ownsRuntime, engine, bridge, loader,
                Hold(held, (ScriptObject)control[0]), Hold(held, (ScriptObject)control[1]), Hold(held, (ScriptObject)control[2]),
                Hold(held, (ScriptObject)control[3]), held);
        }
        catch
        {
            engine.Dispose();
            throw;
        }
    }

    public void Start(ExecuteMessage request, Func<bool> mayContinue) => Enter(() =>
    {
        var limits = request.Limits;
        if (request.Module)
        {
            _loader.SetEntry(request.Code, request.Modules);
        }
        // Before the prelude starts: it imports warden:host first when host functions were granted.
        _loader.SetHostModule(_bridge.HostModuleSource);
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

    /// <summary>V8 counts no fuel.</summary>
    public long? FuelConsumed() => null;

    public long MemoryInUseBytes()
    {
        try
        {
            return V8Isolates.MemoryInUseBytes(_runtime);
        }
        catch (ScriptEngineException)
        {
            return 0;
        }
    }

    /// <remarks>
    /// SECURITY: in a warm isolate the sources are compiled in a throwaway isolate of their own. ClearScript keeps
    /// every classic script it compiles in a cache of the isolate (strong handles, up to 1024 scripts, never
    /// collected, and not cleared before it declares its heap limit passed): compiled in the warm isolate, an
    /// execution's source (up to 32 MB once V8 stores 16 MiB of it two bytes a character) outlived its context and
    /// took that much of every later execution's budget (measured: a 110 MB execution that passes alone ended in
    /// memory_limit after a 14 MB source had thrown a SyntaxError; Isolation/WarmIsolateReviewTests). A fresh
    /// isolate dies with its one context, cache included. A throwaway isolate costs a few milliseconds, only for a
    /// SyntaxError of phase evaluate or module, and runs no user code either.
    /// </remarks>
    public ReportedFailure LocateSyntaxError(ExecuteMessage request, ReportedFailure failure)
    {
        if (_ownedRuntime is not null)
        {
            return SyntaxErrorLocator.Locate(_engine, request, failure);
        }
        using var runtime = V8Isolates.CreateRuntime(request.Limits.MemoryMb);
        using var engine = runtime.CreateScriptEngine("warden-locator", V8ScriptEngineFlags.DisableGlobalMembers);
        return SyntaxErrorLocator.Locate(engine, request, failure);
    }

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
        object evaluation = Hold(_held, _engine.Evaluate(
            new DocumentInfo(InMemoryModuleLoader.WrapperSpecifier) { Category = ModuleCategory.Standard },
            InMemoryModuleLoader.WrapperSource));
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

    /// <summary>
    /// Has the prelude drop its reference to the host bridge. It fails only when the isolate refuses calls
    /// (after a heap violation): that isolate is dropped with this context, never entered again.
    /// </summary>
    private void RevokeBridgeInScript()
    {
        try
        {
            _revokeBridge.Invoke(false);
        }
        catch (ScriptEngineException)
        {
        }
        catch (ScriptInterruptedException)
        {
        }
    }

    public void Dispose()
    {
        // Whatever of this context could still run later (a callback V8 queued for it) finds its bridge
        // revoked: it can neither log into nor settle a later execution of the same warm isolate.
        _bridge.Revoke();
        // SECURITY: and must not reach the host object at all: ClearScript frees its native side with the
        // context, so a later call into it from this context's code is a use after free (see
        // revocableBridge in prelude-v8.js), which the .NET revocation above never sees. Only in a warm
        // isolate, which outlives the context: a fresh one dies with it, and this call, like any entry,
        // ends in a microtask checkpoint that would run, unwatched, reactions V8 tasks had just queued.
        if (_ownedRuntime is null)
        {
            RevokeBridgeInScript();
        }
        // After a heap violation the runtime refuses further calls; disposal must still release it.
        try
        {
            try
            {
                foreach (var handle in _held)
                {
                    handle.Dispose();
                }
            }
            finally
            {
                _engine.Dispose();
            }
        }
        finally
        {
            _ownedRuntime?.Dispose();
        }
    }
}
