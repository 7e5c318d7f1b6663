using System.Collections.Concurrent;
using Warden.Protocol;
using Warden.Worker.Engines;
using Warden.Worker.Lockdown;

namespace Warden.Worker;

/// <summary>
/// The worker's life: read the host's configuration, pick its engine, warm up and prepare an engine
/// instance, report ready, then run executions one at a time on a dedicated script thread until told
/// to stop or until the host goes away.
/// </summary>
internal static class WorkerMain
{
    /// <summary>The script thread's stack: far above any engine's own limit (V8's: <see cref="Engines.V8.V8Instance.StackUsageBytes"/>)
    /// so that deep recursion always ends as a catchable RangeError, never as a crashed thread.</summary>
    private const int ScriptThreadStackBytes = 32 << 20;

    /// <summary>Host frames are small except for code (at most 16 MiB by the host's limits) and input (at most
    /// 64 MiB), each at most 6 bytes a byte once escaped: 480 MiB together. A sanity bound, not a limit a valid
    /// request meets.</summary>
    private const int MaxHostFrameBytes = 512 << 20;

    public static int Run(Stream input, Stream output)
    {
        ResourceLimits.ApplyAtStart();
        var channel = new ProtocolChannel(output);
        ConfigureMessage configure;
        IEngine engine;
        try
        {
            var first = FrameCodec.ReadFrame(input, MaxHostFrameBytes);
            if (first is null || FrameCodec.DecodeHostMessage(first) is not ConfigureMessage c)
            {
                Console.Error.WriteLine("warden-worker: the first frame must be 'configure'");
                return 2;
            }
            configure = c;
            var features = new EngineFeatures(configure.Features.WebAssembly, configure.Features.SharedMemory);
            if (EngineRegistry.Create(configure.Engine, features) is not { } named)
            {
                Console.Error.WriteLine("warden-worker: this worker has no engine named '" + configure.Engine
                    + "' (it has: " + string.Join(", ", EngineRegistry.Names) + ")");
                return 2;
            }
            engine = named;
        }
        catch (ProtocolViolationException e)
        {
            Console.Error.WriteLine("warden-worker: " + e.Message);
            return 2;
        }

        var executions = new BlockingCollection<ExecuteMessage>();
        var hostCalls = new HostCallState(channel);
        var scriptThread = new Thread(() => ScriptLoop(channel, configure, engine, executions, hostCalls), ScriptThreadStackBytes)
        {
            Name = "warden-script",
            IsBackground = true,
        };
        scriptThread.Start();

        try
        {
            while (true)
            {
                var payload = FrameCodec.ReadFrame(input, MaxHostFrameBytes);
                if (payload is null)
                {
                    // The host closed our stdin: it is gone or done with us. Die with it at once.
                    Environment.Exit(0);
                }
                switch (FrameCodec.DecodeHostMessage(payload))
                {
                    case ExecuteMessage execute when execute.Engine == configure.Engine:
                        executions.Add(execute);
                        break;
                    case HostReplyMessage reply:
                        // Routed to the running execution; a reply for one that ended is dropped there.
                        hostCalls.Deliver(reply);
                        break;
                    case ShutdownMessage:
                        executions.CompleteAdding();
                        scriptThread.Join();
                        return 0;
                    default:
                        Console.Error.WriteLine("warden-worker: unexpected frame from host");
                        return 2;
                }
            }
        }
        catch (ProtocolViolationException e)
        {
            Console.Error.WriteLine("warden-worker: " + e.Message);
            return 2;
        }
    }

    /// <summary>Runs the engine's warm-up submissions through every code path, with all output discarded.</summary>
    private static void WarmUp(IEngine engine, Watchdog watchdog, int cpuClock, WireLimits limits)
    {
        var discard = new ProtocolChannel(Stream.Null);
        var recorder = new ExecutionRecorder(discard, watchdog);
        var runner = new ExecutionRunner(discard, watchdog, recorder, engine, cpuClock);
        foreach (var (code, module) in engine.WarmUpSubmissions)
        {
            using var instance = engine.CreateInstance(limits.MemoryMb, recorder);
            runner.Run(new ExecuteMessage("warm-up", engine.Description.Name, code, "{\"a\":1}", module,
                limits with { TimeoutMs = 10_000, CpuMs = 10_000 }), instance);
        }
    }

    /// <summary>One execution in a fresh context of the worker's warm isolate (IsolationUnit Context).</summary>
    private static void RunInWarmIsolate(ProtocolChannel channel, ExecutionRunner runner, WarmIsolateKeeper warm,
        ExecuteMessage request, WireWarmIsolate bounds)
    {
        var (context, number) = warm.Take(request, bounds);
        ResultMessage? result = null;
        try
        {
            result = runner.Run(request, context) with { WarmContext = number };
            // The host gets its answer before the context is torn down and the next one prepared.
            channel.Send(result);
        }
        finally
        {
            warm.Release(context, result, bounds);
        }
    }

    private static void ScriptLoop(ProtocolChannel channel, ConfigureMessage configure, IEngine engine,
        BlockingCollection<ExecuteMessage> executions, HostCallState hostCalls)
    {
        try
        {
            var preparedLimits = configure.PreparedLimits;
            int cpuClock = Native.CurrentThreadCpuClock();
            var watchdog = new Watchdog();
            var recorder = new ExecutionRecorder(channel, watchdog, hostCalls);
            var runner = new ExecutionRunner(channel, watchdog, recorder, engine, cpuClock, configure.Lockdown.ResidentMemoryBackstop);
            // The first instance of a process costs most (V8: ~70 ms for its platform) and the first run
            // of each code path pays for JIT compilation: pay both before "ready", not in a user's time.
            WarmUp(engine, watchdog, cpuClock, preparedLimits);
            using var supply = new InstanceSupply(preparedLimits.MemoryMb, memoryMb => engine.CreateInstance(memoryMb, recorder));
            supply.WaitUntilReady();
            // Lock down only now: everything the worker will ever do has run once. That includes
            // its stderr: the console's first write initialises terminal handling, which the
            // filter refuses afterwards (measured: a fatal error after lockdown then crashed in
            // ConsolePal instead of being reported).
            Console.Error.WriteLine("warden-worker: warm, locking down");
            Console.Error.Flush();
            AssemblyPreloader.LoadAll();
            var lockdown = WorkerLockdown.Apply(configure.Lockdown, engine.SyscallsAfterLockdown);
            channel.Send(new ReadyMessage(Environment.ProcessId, engine.Description, lockdown));

            using var warm = new WarmIsolateKeeper(engine, recorder);
            foreach (var request in executions.GetConsumingEnumerable())
            {
                // SECURITY: no warm isolate when WebAssembly or shared memory is offered. Their asynchronous
                // completions (WebAssembly.compile/instantiate, Atomics.waitAsync) are V8 tasks that settle an
                // execution's promises after it ended, whenever the isolate is next entered: the reactions would
                // run the earlier execution's code during the next one (measured: Isolation/WarmContextLeakTests).
                if (request.WarmIsolate is { } bounds && !configure.Features.WebAssembly && !configure.Features.SharedMemory)
                {
                    RunInWarmIsolate(channel, runner, warm, request, bounds);
                    continue;
                }
                var instance = supply.Take(request.Limits.MemoryMb);
                bool large = true;
                try
                {
                    var result = runner.Run(request, instance);
                    large = result.Usage.MemoryBytes >= InstanceSupply.LargeInstanceBytes;
                    // The host gets its answer before the instance is torn down.
                    channel.Send(result);
                }
                finally
                {
                    supply.Retire(instance, disposeNow: large);
                }
            }
        }
        catch (Exception e)
        {
            // Anything escaping here is a worker fault, never a script's (those are outcomes).
            Console.Error.WriteLine("warden-worker: fatal: " + e);
            Environment.Exit(70);
        }
    }
}
