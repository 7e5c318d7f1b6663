using Microsoft.ClearScript;
using Microsoft.ClearScript.JavaScript;
using Microsoft.ClearScript.V8;
using Warden.Protocol;

namespace Warden.Worker.Engine;

/// <summary>
/// Runs one execution in a prepared isolate: starts user code through the prelude, drives the event
/// loop (timers; microtasks drain after every entry), and turns the end into a result message.
/// </summary>
/// <param name="residentMemoryBackstop">False only when a test proves the cgroup's memory cap alone
/// (the in-process resident-memory check would otherwise stop the bomb first).</param>
internal sealed class ExecutionRunner(ProtocolChannel channel, Watchdog watchdog, SandboxBridge bridge, int scriptThreadCpuClock,
    bool residentMemoryBackstop = true)
{
    private const double Settled = -2, Idle = -1;
    private const string HeapViolationText = "exceeded its memory limit";
    /// <summary>The document name of a classic script: what its stack frames show.</summary>
    internal const string ClassicScriptName = "script.js";

    public ResultMessage Run(ExecuteMessage request, PreparedIsolate isolate)
    {
        var limits = request.Limits;
        bridge.Begin(request.Id, limits, isolate.EvaluateWebApis);
        double cpuStart = Native.ProcessCpuMs();
        long peakMemory = 0;
        bool heapViolation = false;
        string? engineFailure = null;

        channel.Send(new StartedMessage(request.Id));
        watchdog.Arm(isolate.Engine, limits.TimeoutMs, limits.CpuMs, scriptThreadCpuClock,
            residentMemoryBackstop ? MemoryBudgets.ResidentTripBytes(limits.MemoryMb) : long.MaxValue / 2);
        try
        {
            if (request.Module)
            {
                isolate.Loader.SetEntry(request.Code, request.Modules);
            }
            isolate.Start.Invoke(false, request.Input, request.Module ? "" : request.Code, request.Module,
                request.Module ? InMemoryModuleLoader.EntrySpecifier : ClassicScriptName,
                string.Join('\n', request.Module ? isolate.Loader.DocumentNames : [ClassicScriptName]),
                limits.MaxConsoleBytes, limits.MaxResultBytes, limits.MaxErrorTextBytes, (double)MemoryBudgets.BudgetBytes(limits.MemoryMb));
            // The prelude's import() has run the module graph; unless it already failed (load, parse
            // or link), the wrapper's evaluation tells how evaluation ended.
            if (request.Module && !bridge.HasOutcome && watchdog.Tripped == TripReason.None)
            {
                EvaluateModule(isolate);
            }
            while (watchdog.Tripped == TripReason.None && !bridge.HasOutcome)
            {
                peakMemory = Math.Max(peakMemory, SampleMemory(isolate));
                double next = AsFiniteNumber(isolate.Tick.Invoke(false));
                if (next == Settled)
                {
                    break;
                }
                if (next == Idle)
                {
                    bridge.OverrideFailure(new ReportedFailure(WireStatus.ScriptError, null, "Error",
                        "The result can never settle: it is still pending, and no timer or other work is left that could settle it",
                        "", "run"));
                    break;
                }
                if (double.IsNaN(next))
                {
                    engineFailure = "the event loop returned an unexpected value";
                    break;
                }
                // Never sleep past the wall deadline, whatever the next timer says.
                double waitMs = Math.Min(next - bridge.ElapsedMs, limits.TimeoutMs - bridge.ElapsedMs + 1);
                if (waitMs > 0)
                {
                    watchdog.WaitTripped(TimeSpan.FromMilliseconds(waitMs));
                }
            }
        }
        catch (ScriptInterruptedException)
        {
            // The watchdog or the bridge interrupted the script; the reason is in Tripped.
        }
        catch (ScriptEngineException e) when (IsHeapViolation(e))
        {
            heapViolation = true;
        }
        catch (ScriptEngineException) when (watchdog.Tripped != TripReason.None)
        {
            // Interrupted while ClearScript was inside its own exception handling.
        }
        catch (ScriptEngineException)
        {
            // The prelude's entry points catch every script exception, so this is an engine or
            // prelude failure. Its text may still carry script-made strings: it is not forwarded.
            engineFailure = "the engine failed while running Warden's own code";
        }
        finally
        {
            // Sampled while still watched: nothing may run in the isolate after the watchdog lets go.
            if (!heapViolation)
            {
                peakMemory = Math.Max(peakMemory, SampleMemory(isolate));
            }
            watchdog.Disarm();
        }

        if (heapViolation)
        {
            peakMemory = Math.Max(peakMemory, MemoryBudgets.BudgetBytes(limits.MemoryMb));
        }
        var usage = new WireUsage(bridge.ElapsedMs, Math.Max(0, Native.ProcessCpuMs() - cpuStart), peakMemory);
        return Bounded(Classify(request, isolate, heapViolation, engineFailure, usage), limits);
    }

    /// <summary>
    /// Evaluates Warden's fixed wrapper module (see startModule in Prelude.js) and gives its evaluation
    /// to the prelude to await. The wrapper's top-level await makes ClearScript return the evaluation
    /// as a promise even when the submission threw at its top level, so the error is described inside
    /// the isolate like any other; nothing a script made is read here. Should ClearScript still throw
    /// (it would be Warden's fault, not the script's), the runner reports an internal error and
    /// forwards none of the exception's text.
    /// </summary>
    private static void EvaluateModule(PreparedIsolate isolate)
    {
        object evaluation = isolate.Engine.Evaluate(
            new DocumentInfo(InMemoryModuleLoader.WrapperSpecifier) { Category = ModuleCategory.Standard },
            InMemoryModuleLoader.WrapperSource);
        isolate.AwaitModule.Invoke(false, evaluation);
    }

    /// <summary>
    /// ClearScript's heap-limit interrupt. Decided by IsFatal, which only the engine sets: a script
    /// can throw any text, including this message (measured: `throw 'The V8 runtime has exceeded its
    /// memory limit'` reproduces it exactly).
    /// </summary>
    private static bool IsHeapViolation(ScriptEngineException e) =>
        e.IsFatal && e.Message.Contains(HeapViolationText, StringComparison.Ordinal);

    /// <summary>The event loop speaks in finite numbers; anything else (a corrupted prelude) is NaN.</summary>
    private static double AsFiniteNumber(object? value) => value switch
    {
        double d when double.IsFinite(d) => d,
        int i => i,
        _ => double.NaN,
    };

    /// <summary>Every string leaves the worker within its bound, whatever produced it (parser messages included).</summary>
    private static ResultMessage Bounded(ResultMessage result, WireLimits limits) => result.Error is not { } error ? result : result with
    {
        Error = error with
        {
            Name = Utf8Text.Truncate(error.Name, limits.MaxErrorTextBytes),
            Message = Utf8Text.Truncate(error.Message, limits.MaxErrorTextBytes),
            Stack = Utf8Text.Truncate(error.Stack, limits.MaxErrorTextBytes),
        },
    };

    private ResultMessage Classify(ExecuteMessage request, PreparedIsolate isolate, bool heapViolation, string? engineFailure, WireUsage usage)
    {
        string id = request.Id;
        if (bridge.ConsoleLimitHit)
        {
            return Failed(id, WireStatus.OutputLimit, WireStatus.LimitConsole, WireErrorNames.OutputLimit,
                LimitMessages.Console(request.Limits.MaxConsoleBytes, request.Limits.MaxConsoleEntries), usage);
        }
        switch (watchdog.Tripped)
        {
            case TripReason.Cpu:
                return Failed(id, WireStatus.Timeout, WireStatus.LimitCpu, WireErrorNames.Timeout,
                    LimitMessages.CpuTime(request.Limits.CpuMs), usage);
            case TripReason.Wall:
                return Failed(id, WireStatus.Timeout, WireStatus.LimitWall, WireErrorNames.Timeout,
                    LimitMessages.WallTime(request.Limits.TimeoutMs), usage);
            case TripReason.Memory:
                return Failed(id, WireStatus.MemoryLimit, WireStatus.LimitProcess, WireErrorNames.MemoryLimit,
                    LimitMessages.ResidentMemory(request.Limits.MemoryMb), usage);
        }
        if (heapViolation)
        {
            return Failed(id, WireStatus.MemoryLimit, WireStatus.LimitHeap, WireErrorNames.MemoryLimit,
                LimitMessages.Heap(request.Limits.MemoryMb), usage);
        }
        if (engineFailure is not null && !bridge.HasOutcome)
        {
            return Failed(id, WireStatus.InternalError, null, WireErrorNames.Internal, "Internal error: " + engineFailure, usage);
        }
        if (bridge.ResultJson is { } json)
        {
            return new ResultMessage(id, WireStatus.Ok, json, null, usage);
        }
        // The prelude settles only after the bridge took the outcome, so ending without one means the
        // script left no room to report it (e.g. its own exhausted stack): its failure, not Warden's.
        var failure = bridge.Failure ?? new ReportedFailure(WireStatus.ScriptError, null, "Error",
            "The script ended without a result it could report (was its stack exhausted?)", "", "run");
        if (failure.Name == "SyntaxError" && failure.Phase is "evaluate" or "module")
        {
            failure = SyntaxErrorLocator.Locate(isolate.Engine, request, failure);
        }
        return new ResultMessage(id, failure.Status, null,
            new WireError(failure.Name, failure.Message, failure.Stack, failure.Limit), usage);
    }

    /// <summary>
    /// How much the worker's resident memory may grow during one execution: the heap and the
    /// ArrayBuffer limits (each the execution's memory limit) plus headroom for the engine's own
    /// working memory (GC, compiled code). Documented in docs/limits.md.
    /// </summary>

    private static ResultMessage Failed(string id, string status, string? limit, string name, string message, WireUsage usage) =>
        new(id, status, null, new WireError(name, message, "", limit), usage);

    private static long SampleMemory(PreparedIsolate isolate)
    {
        try
        {
            var info = isolate.Runtime.GetHeapInfo();
            return (long)(info.UsedHeapSize + info.TotalExternalSize);
        }
        catch (ScriptEngineException)
        {
            return 0;
        }
    }
}
