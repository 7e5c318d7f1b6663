using Microsoft.ClearScript;
using Microsoft.ClearScript.JavaScript;
using Microsoft.ClearScript.V8;
using Warden.Protocol;

namespace Warden.Worker.Engine;

/// <summary>
/// Runs one execution in a prepared isolate: starts user code through the prelude, drives the event
/// loop (timers; microtasks drain after every entry), and turns the end into a result message.
/// </summary>
internal sealed class ExecutionRunner(ProtocolChannel channel, Watchdog watchdog, SandboxBridge bridge, int scriptThreadCpuClock)
{
    private const double Settled = -2, Idle = -1;
    private const string HeapViolationText = "exceeded its memory limit";
    private const string ClassicScriptName = "script.js";

    /// <summary>Unhandled rejections kept while a module evaluates: the first decides, the rest only cost memory.</summary>
    private const int MaxTrackedRejections = 64;

    public ResultMessage Run(ExecuteMessage request, PreparedIsolate isolate)
    {
        var limits = request.Limits;
        bridge.Begin(request.Id, limits);
        double cpuStart = Native.ProcessCpuMs();
        long peakMemory = 0;
        var unhandled = new List<(ScriptObject Promise, object? Value)>();
        bool heapViolation = false;
        string? engineFailure = null;

        channel.Send(new StartedMessage(request.Id));
        watchdog.Arm(isolate.Engine, limits.TimeoutMs, limits.CpuMs, scriptThreadCpuClock, ProcessBudgetBytes(limits.MemoryMb));
        try
        {
            if (request.Module)
            {
                isolate.Loader.SetEntry(request.Code);
                // A module's evaluation error does not reject ClearScript's dynamic import; V8 still
                // reports the rejected evaluation promise here, as an unhandled rejection. While the
                // module is still evaluating, an unhandled rejection ends it (as in Node and Deno).
                // The values are only held and handed back to the prelude: .NET never reads a
                // property of them (docs/threat-model.md).
                isolate.Engine.PromiseRejectionCallback = (kind, promise, value) =>
                {
                    if (kind == V8PromiseRejectionEventKind.RejectedWithoutHandler && unhandled.Count < MaxTrackedRejections)
                    {
                        unhandled.Add((promise, value));
                    }
                    else if (kind == V8PromiseRejectionEventKind.HandlerAddedAfterRejection)
                    {
                        unhandled.RemoveAll(u => u.Promise.Equals(promise));
                    }
                };
            }
            isolate.Start.Invoke(false, request.Input, request.Module ? "" : request.Code, request.Module,
                request.Module ? InMemoryModuleLoader.EntrySpecifier : ClassicScriptName,
                InMemoryModuleLoader.WrapperSpecifier,
                limits.MaxConsoleBytes, limits.MaxResultBytes, limits.MaxErrorTextBytes);
            bool moduleEvaluating = request.Module;
            while (watchdog.Tripped == TripReason.None)
            {
                peakMemory = Math.Max(peakMemory, SampleMemory(isolate));
                double next = AsFiniteNumber(isolate.Tick.Invoke(false));
                if (next == Settled)
                {
                    break;
                }
                if (moduleEvaluating && !(isolate.ModulePending.Invoke(false) is true))
                {
                    // Evaluated: from here on, unhandled rejections are the script's own business.
                    moduleEvaluating = false;
                    isolate.Engine.PromiseRejectionCallback = null;
                    unhandled.Clear();
                }
                if (moduleEvaluating && unhandled.Count > 0)
                {
                    isolate.FailModule.Invoke(false, unhandled[0].Value);
                    unhandled.Clear();
                    continue;
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
        catch (ScriptEngineException e) when (e.Message.Contains(HeapViolationText, StringComparison.Ordinal))
        {
            heapViolation = true;
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
            if (request.Module)
            {
                TryClearRejectionCallback(isolate);
            }
        }

        if (heapViolation)
        {
            peakMemory = Math.Max(peakMemory, (long)limits.MemoryMb << 20);
        }
        var usage = new WireUsage(bridge.ElapsedMs, Math.Max(0, Native.ProcessCpuMs() - cpuStart), peakMemory);
        return Bounded(Classify(request, isolate, heapViolation, engineFailure, usage), limits);
    }

    /// <summary>The event loop speaks in finite numbers; anything else (a corrupted prelude) is NaN.</summary>
    private static double AsFiniteNumber(object? value) => value switch
    {
        double d when double.IsFinite(d) => d,
        int i => i,
        _ => double.NaN,
    };

    private static void TryClearRejectionCallback(PreparedIsolate isolate)
    {
        try
        {
            isolate.Engine.PromiseRejectionCallback = null;
        }
        catch (ScriptEngineException)
        {
            // After a heap violation the engine refuses every call; the isolate is disposed next.
        }
    }

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
            return Failed(id, WireStatus.OutputLimit, WireStatus.LimitConsole, "OutputLimitError",
                $"Console output passed its limit ({request.Limits.MaxConsoleBytes} bytes or {request.Limits.MaxConsoleEntries} entries)", usage);
        }
        switch (watchdog.Tripped)
        {
            case TripReason.Cpu:
                return Failed(id, WireStatus.Timeout, WireStatus.LimitCpu, "TimeoutError",
                    $"CPU time limit of {request.Limits.CpuMs} ms exceeded", usage);
            case TripReason.Wall:
                return Failed(id, WireStatus.Timeout, WireStatus.LimitWall, "TimeoutError",
                    $"Time limit of {request.Limits.TimeoutMs} ms exceeded", usage);
            case TripReason.Memory:
                return Failed(id, WireStatus.MemoryLimit, WireStatus.LimitProcess, "MemoryLimitError",
                    $"The worker's memory grew past this execution's budget ({ProcessBudgetBytes(request.Limits.MemoryMb) >> 20} MB for a {request.Limits.MemoryMb} MB limit)", usage);
        }
        if (heapViolation)
        {
            return Failed(id, WireStatus.MemoryLimit, WireStatus.LimitHeap, "MemoryLimitError",
                $"Heap limit of {request.Limits.MemoryMb} MB exceeded", usage);
        }
        if (engineFailure is not null && !bridge.HasOutcome)
        {
            return Failed(id, WireStatus.InternalError, null, "InternalError", "Internal error: " + engineFailure, usage);
        }
        if (bridge.ResultJson is { } json)
        {
            return new ResultMessage(id, WireStatus.Ok, json, null, usage);
        }
        var failure = bridge.Failure ?? new ReportedFailure(WireStatus.InternalError, null, "InternalError",
            "The execution ended without a result", "", "run");
        if (failure.Name == "SyntaxError" && failure.Phase is "evaluate" or "import")
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
    internal static long ProcessBudgetBytes(int memoryMb) => ((2L * memoryMb) + 64) << 20;

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
