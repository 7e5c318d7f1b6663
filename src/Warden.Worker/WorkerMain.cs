using System.Collections.Concurrent;
using Warden.Protocol;
using Warden.Worker.Engine;
using Warden.Worker.Lockdown;

namespace Warden.Worker;

/// <summary>
/// The worker's life: read the host's configuration, prepare an isolate, report ready, then run
/// executions one at a time on a dedicated script thread until told to stop or until the host goes away.
/// </summary>
internal static class WorkerMain
{
    /// <summary>The script thread's stack: far above V8's own limit (<see cref="PreparedIsolate.StackUsageBytes"/>)
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
        try
        {
            var first = FrameCodec.ReadFrame(input, MaxHostFrameBytes);
            if (first is null || FrameCodec.DecodeHostMessage(first) is not ConfigureMessage c)
            {
                Console.Error.WriteLine("warden-worker: the first frame must be 'configure'");
                return 2;
            }
            configure = c;
            if (configure.Engine != EngineNames.V8)
            {
                Console.Error.WriteLine("warden-worker: this worker has no engine named '" + configure.Engine + "'");
                return 2;
            }
        }
        catch (ProtocolViolationException e)
        {
            Console.Error.WriteLine("warden-worker: " + e.Message);
            return 2;
        }

        var executions = new BlockingCollection<ExecuteMessage>();
        var features = new EngineFeatures(configure.Features.WebAssembly, configure.Features.SharedMemory);
        var scriptThread = new Thread(() => ScriptLoop(channel, configure, features, executions), ScriptThreadStackBytes)
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

    /// <summary>What the host learns about this worker's engine in <c>ready</c>.</summary>
    private static readonly WireEngine V8Description = new(EngineNames.V8,
        typeof(Microsoft.ClearScript.V8.V8ScriptEngine).Assembly.GetName().Version?.ToString() ?? "unknown",
        MemoryBudgets.V8Rule,
        ["Fatal JavaScript out of memory", "Fatal process out of memory", "JavaScript heap out of memory", "Fatal JavaScript invalid size error"]);

    private static readonly (string Code, bool Module)[] WarmUpScripts =
    [
        ("console.log('warm', { a: [1, 'x'] }); new Promise(r => setTimeout(() => r({ input, n: JSON.parse('[1]') }), 0))", false),
        ("export default async function (i) { await null; return [i]; }", true),
        ("let broken = ;", false),
        ("throw new TypeError('warm')", false),
        // The web APIs, and the CSPRNG behind crypto: .NET opens its random source on first use,
        // which must happen before the seccomp filter is installed.
        ("[crypto.getRandomValues(new Uint8Array(8)).length, crypto.randomUUID(), new URL('https://b\u00fccher.example/a?b=1').href, "
            + "new TextDecoder().decode(new TextEncoder().encode('\u20ac')), structuredClone({ a: [1] }), btoa(atob('aGk=')), "
            + "new Blob(['x']).size, AbortSignal.abort().aborted, performance.now() >= 0]", false),
    ];

    /// <summary>Runs a few executions through every code path, with all output discarded.</summary>
    private static void WarmUp(Watchdog watchdog, EngineFeatures features, int cpuClock, WireLimits limits)
    {
        var discard = new ProtocolChannel(Stream.Null);
        var bridge = new SandboxBridge(discard, watchdog);
        var runner = new ExecutionRunner(discard, watchdog, bridge, cpuClock);
        foreach (var (code, module) in WarmUpScripts)
        {
            using var isolate = PreparedIsolate.Create(limits.MemoryMb, features, bridge);
            runner.Run(new ExecuteMessage("warm-up", EngineNames.V8, code, "{\"a\":1}", module, limits with { TimeoutMs = 10_000, CpuMs = 10_000 }), isolate);
        }
    }

    private static void ScriptLoop(ProtocolChannel channel, ConfigureMessage configure, EngineFeatures features,
        BlockingCollection<ExecuteMessage> executions)
    {
        try
        {
            var preparedLimits = configure.PreparedLimits;
            int cpuClock = Native.CurrentThreadCpuClock();
            var watchdog = new Watchdog();
            var bridge = new SandboxBridge(channel, watchdog);
            var runner = new ExecutionRunner(channel, watchdog, bridge, cpuClock, configure.Lockdown.ResidentMemoryBackstop);
            // The first isolate of a process costs ~70 ms (V8 platform start) and the first run of
            // each code path pays for JIT compilation: pay both before "ready", not in a user's time.
            WarmUp(watchdog, features, cpuClock, preparedLimits);
            using var supply = new IsolateSupply(preparedLimits.MemoryMb, memoryMb => PreparedIsolate.Create(memoryMb, features, bridge));
            supply.WaitUntilReady();
            // Lock down only now: everything the worker will ever do has run once. That includes
            // its stderr: the console's first write initialises terminal handling, which the
            // filter refuses afterwards (measured: a fatal error after lockdown then crashed in
            // ConsolePal instead of being reported).
            Console.Error.WriteLine("warden-worker: warm, locking down");
            Console.Error.Flush();
            AssemblyPreloader.LoadAll();
            var lockdown = WorkerLockdown.Apply(configure.Lockdown);
            channel.Send(new ReadyMessage(Environment.ProcessId, V8Description, lockdown));

            foreach (var request in executions.GetConsumingEnumerable())
            {
                var isolate = supply.Take(request.Limits.MemoryMb);
                bool large = true;
                try
                {
                    var result = runner.Run(request, isolate);
                    large = result.Usage.MemoryBytes >= IsolateSupply.LargeIsolateBytes;
                    // The host gets its answer before the isolate is torn down.
                    channel.Send(result);
                }
                finally
                {
                    supply.Retire(isolate, disposeNow: large);
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
