using Warden.Protocol;
using Warden.Worker.Engines;

namespace Warden.Worker;

/// <summary>
/// Runs one execution in a fresh engine instance: starts the submission, drives the event loop (the
/// engine runs due timers and pending jobs on every turn; the runner waits in between, never past the
/// wall deadline), and turns the end into a result message. Engine-neutral: it knows the engine only as
/// <see cref="IEngine"/> and <see cref="IEngineInstance"/>.
/// </summary>
/// <param name="residentMemoryBackstop">False only when a test proves the cgroup's memory cap alone
/// (the in-process resident-memory check would otherwise stop the bomb first).</param>
internal sealed class ExecutionRunner(ProtocolChannel channel, Watchdog watchdog, ExecutionRecorder recorder, IEngine engine,
    int scriptThreadCpuClock, bool residentMemoryBackstop = true)
{
    public ResultMessage Run(ExecuteMessage request, IEngineInstance instance)
    {
        var limits = request.Limits;
        recorder.Begin(request.Id, limits);
        // Host functions only in a fresh isolate (the host refuses grants for warm ones; a grant arriving with one is ignored).
        var hostCalls = recorder.HostCalls;
        hostCalls.Begin(request.Id, request.WarmIsolate is null ? request.Host : null,
            () => recorder.HasOutcome || recorder.ConsoleLimitHit || watchdog.Tripped != TripReason.None);
        double cpuStart = Native.ProcessCpuMs();
        long peakMemory = 0;
        bool engineMemoryLimit = false;
        bool fuelExhausted = false;
        bool stackOverflow = false;
        string? engineFailure = null;

        channel.Send(new StartedMessage(request.Id));
        watchdog.Arm(instance, limits.TimeoutMs, limits.CpuMs, scriptThreadCpuClock,
            residentMemoryBackstop ? engine.ResidentTripBytes(limits.MemoryMb) : long.MaxValue / 2);
        try
        {
            // Checked before every entry into the engine: an interrupt that landed while no script ran is lost.
            instance.Start(request, () => !recorder.HasOutcome && watchdog.Tripped == TripReason.None);
            while (watchdog.Tripped == TripReason.None && !recorder.HasOutcome)
            {
                peakMemory = Math.Max(peakMemory, instance.MemoryInUseBytes());
                var turn = instance.Tick();
                if (turn.State == EventLoopState.Settled)
                {
                    break;
                }
                if (turn.State == EventLoopState.Idle && hostCalls.Pending == 0)
                {
                    recorder.OverrideFailure(new ReportedFailure(WireStatus.ScriptError, null, "Error",
                        "The result can never settle: it is still pending, and no timer or other work is left that could settle it",
                        "", "run"));
                    break;
                }
                if (turn.State == EventLoopState.Broken)
                {
                    engineFailure = "the event loop returned an unexpected value";
                    break;
                }
                // Never sleep past the wall deadline, whatever the next timer says. While host calls are pending,
                // their replies wake the loop too (the engine takes them on its next turn); with no timer left,
                // only a reply, the wall limit or a trip ends the wait.
                double nextAtMs = turn.State == EventLoopState.Idle ? double.PositiveInfinity : turn.NextTimerAtMs;
                double waitMs = Math.Min(nextAtMs - recorder.ElapsedMs, limits.TimeoutMs - recorder.ElapsedMs + 1);
                if (waitMs > 0)
                {
                    if (hostCalls.Pending > 0)
                    {
                        watchdog.WaitTrippedOr(hostCalls.ReplyArrived, TimeSpan.FromMilliseconds(waitMs));
                    }
                    else
                    {
                        watchdog.WaitTripped(TimeSpan.FromMilliseconds(waitMs));
                    }
                }
            }
        }
        catch (EngineAbortException e) when (e.Kind == EngineAbort.Interrupted)
        {
            // The watchdog or the recorder interrupted the script; the reason is in Tripped.
        }
        catch (EngineAbortException e) when (e.Kind == EngineAbort.MemoryLimit)
        {
            engineMemoryLimit = true;
        }
        catch (EngineAbortException e) when (e.Kind == EngineAbort.FuelExhausted)
        {
            fuelExhausted = true;
        }
        catch (EngineAbortException e) when (e.Kind == EngineAbort.StackOverflow)
        {
            stackOverflow = true;
        }
        catch (EngineAbortException) when (watchdog.Tripped != TripReason.None)
        {
            // Interrupted while the engine was inside its own exception handling.
        }
        catch (EngineAbortException)
        {
            // The engine runs Warden's own code around the script, which catches every script
            // exception, so this is an engine or prelude failure. Nothing of its text is forwarded.
            engineFailure = "the engine failed while running Warden's own code";
        }
        finally
        {
            // Sampled while still watched: nothing may run in the engine after the watchdog lets go.
            if (!engineMemoryLimit)
            {
                peakMemory = Math.Max(peakMemory, instance.MemoryInUseBytes());
            }
            watchdog.Disarm();
            hostCalls.End();
        }

        if (engineMemoryLimit)
        {
            peakMemory = Math.Max(peakMemory, MemoryBudgets.BudgetBytes(limits.MemoryMb));
        }
        var usage = new WireUsage(recorder.ElapsedMs, Math.Max(0, Native.ProcessCpuMs() - cpuStart), peakMemory, instance.FuelConsumed());
        if (fuelExhausted && !recorder.ConsoleLimitHit && watchdog.Tripped == TripReason.None)
        {
            return Failed(request.Id, WireStatus.Timeout, WireStatus.LimitFuel, WireErrorNames.Timeout, LimitMessages.Fuel(limits.Fuel), usage);
        }
        if (stackOverflow && !recorder.HasOutcome && watchdog.Tripped == TripReason.None)
        {
            // The engine could not run the script's handlers any more: reported as V8 reports its own overflow.
            return Bounded(new ResultMessage(request.Id, WireStatus.ScriptError, null,
                new WireError("RangeError", "Maximum call stack size exceeded", "", null), usage), limits);
        }
        return Bounded(Classify(request, instance, engineMemoryLimit, engineFailure, usage), limits);
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

    private ResultMessage Classify(ExecuteMessage request, IEngineInstance instance, bool engineMemoryLimit, string? engineFailure, WireUsage usage)
    {
        string id = request.Id;
        if (recorder.ConsoleLimitHit)
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
                    LimitMessages.ResidentMemory(request.Limits.MemoryMb, engine.ResidentTripBytes(request.Limits.MemoryMb)), usage);
        }
        if (engineMemoryLimit)
        {
            return Failed(id, WireStatus.MemoryLimit, WireStatus.LimitHeap, WireErrorNames.MemoryLimit,
                LimitMessages.Heap(request.Limits.MemoryMb), usage);
        }
        if (engineFailure is not null && !recorder.HasOutcome)
        {
            return Failed(id, WireStatus.InternalError, null, WireErrorNames.Internal, "Internal error: " + engineFailure, usage);
        }
        if (recorder.ResultJson is { } json)
        {
            return new ResultMessage(id, WireStatus.Ok, json, null, usage);
        }
        // The prelude settles only after the recorder took the outcome, so ending without one means the
        // script left no room to report it (e.g. its own exhausted stack): its failure, not Warden's.
        var failure = recorder.Failure ?? new ReportedFailure(WireStatus.ScriptError, null, "Error",
            "The script ended without a result it could report (was its stack exhausted?)", "", "run");
        if (failure.Name == "SyntaxError" && failure.Phase is "evaluate" or "module")
        {
            failure = instance.LocateSyntaxError(request, failure);
        }
        return new ResultMessage(id, failure.Status, null,
            new WireError(failure.Name, failure.Message, failure.Stack, failure.Limit), usage);
    }

    private static ResultMessage Failed(string id, string status, string? limit, string name, string message, WireUsage usage) =>
        new(id, status, null, new WireError(name, message, "", limit), usage);
}
