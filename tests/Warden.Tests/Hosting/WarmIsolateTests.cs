using System.Diagnostics;

namespace Warden.Tests.Hosting;

/// <summary>
/// The warm-isolate mode (<see cref="IsolationUnit.Context"/>) through the library, on V8 and on the test engine:
/// executions of one key reuse the worker's warm isolate, each in a fresh context, and the isolate is dropped
/// after every limit, after its bounds of executions, age and memory growth, and when the memory limit changes.
/// What one execution could leave for the next is attacked in Isolation/WarmContextLeakTests.
/// </summary>
[Collection("sandbox")]
public sealed class WarmIsolateTests : IAsyncLifetime
{
    private Sandbox _sandbox = null!;

    public async Task InitializeAsync()
    {
        _sandbox = new Sandbox(new SandboxOptions
        {
            MaxWorkers = 2,
            SpareWorkers = 1,
            EnableTestEngine = true,
            IsolationUnit = IsolationUnit.Context,
            WarmIsolate = new WarmIsolateOptions { MaxExecutions = 4, MaxAge = TimeSpan.FromSeconds(2), MaxHeapGrowthMb = 16 },
        });
        await _sandbox.WarmUpAsync();
    }

    public async Task DisposeAsync() => await _sandbox.DisposeAsync();

    private Task<Outcome> RunAsync(string code, string key, string? engine = null, int? timeoutMs = null, int? memoryMb = null,
        IsolationUnit? unit = null) =>
        _sandbox.RunAsync(new Submission
        {
            Code = code,
            IsolationKey = key,
            Engine = engine,
            IsolationUnit = unit,
            Limits = new ExecutionLimits(TimeoutMs: timeoutMs, MemoryMb: memoryMb),
        });

    [Theory]
    [InlineData("v8", "[globalThis.seen ?? 'fresh', globalThis.seen = 1][0]", "\"fresh\"")]
    [InlineData("test", "result 7", "7")]
    public async Task ExecutionsOfOneKeyReuseTheWarmIsolateEachInAFreshContext(string engine, string code, string expected)
    {
        var before = _sandbox.Statistics;
        var outcomes = new List<Outcome>();
        for (int i = 0; i < 3; i++)
        {
            outcomes.Add(await RunAsync(code, "reuse-" + engine, engine));
        }
        foreach (var outcome in outcomes)
        {
            OutcomeAssert.Ok(expected, outcome);
            Assert.Equal(engine, outcome.Engine);
        }
        Assert.Equal([1, 2, 3], outcomes.Select(o => o.WarmContext));
        Assert.Single(outcomes.Select(o => o.WorkerPid).Distinct());
        var after = _sandbox.Statistics;
        Assert.Equal(1, after.WarmIsolatesMade - before.WarmIsolatesMade);
        Assert.Equal(2, after.WarmIsolateReuses - before.WarmIsolateReuses);
    }

    [Fact]
    public async Task ASubmissionMayAskForAFreshIsolateAndGetsOne()
    {
        var fresh = await RunAsync("1 + 1", "fresh-asked", unit: IsolationUnit.Isolate);
        OutcomeAssert.Ok("2", fresh);
        Assert.Equal(0, fresh.WarmContext);
        var warm = await RunAsync("1 + 2", "fresh-asked");
        OutcomeAssert.Ok("3", warm);
        Assert.Equal(1, warm.WarmContext);
        Assert.Equal(fresh.WorkerPid, warm.WorkerPid);
    }

    [Fact]
    public async Task KeysNeverShareAWarmIsolate()
    {
        var a = await RunAsync("1", "key-a");
        var b = await RunAsync("2", "key-b");
        var a2 = await RunAsync("3", "key-a");
        Assert.Equal(1, a.WarmContext);
        Assert.Equal(1, b.WarmContext);
        Assert.NotEqual(a.WorkerPid, b.WorkerPid);
        // key-a's worker may have gone to key-b (two slots); either way b never ran in a's isolate.
        Assert.True(a2.WarmContext == 2 && a2.WorkerPid == a.WorkerPid || a2.WarmContext == 1, $"a2: {a2.WarmContext} in {a2.WorkerPid}");
    }

    [Theory]
    [InlineData("v8", "while (true) {}")]
    [InlineData("test", "spin")]
    public async Task ATimeoutEndsTheWarmIsolateButNotTheWorker(string engine, string hog)
    {
        OutcomeAssert.Ok(engine == "v8" ? "1" : "1", await RunAsync(engine == "v8" ? "1" : "result 1", "timeout-" + engine, engine));
        var clock = Stopwatch.StartNew();
        var timedOut = await RunAsync(hog, "timeout-" + engine, engine, timeoutMs: 200);
        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(200 + 1500), $"took {clock.Elapsed}");
        OutcomeAssert.Failed(OutcomeStatus.Timeout, "TimeoutError", timedOut);
        Assert.Equal(2, timedOut.WarmContext);
        var next = await RunAsync(engine == "v8" ? "2" : "result 2", "timeout-" + engine, engine);
        OutcomeAssert.Ok("2", next);
        Assert.Equal(1, next.WarmContext);
        Assert.Equal(timedOut.WorkerPid, next.WorkerPid);
    }

    [Fact]
    public async Task AnOutputFloodEndsTheWarmIsolate()
    {
        var flood = await RunAsync("for (;;) console.log('x'.repeat(1000))", "flood");
        OutcomeAssert.Status(OutcomeStatus.OutputLimit, flood);
        var next = await RunAsync("'calm'", "flood");
        OutcomeAssert.Ok("\"calm\"", next);
        Assert.Equal(1, next.WarmContext);
    }

    [Fact]
    public async Task AHeapBombEndsTheWarmIsolateAndTheNextExecutionHasItsWholeBudget()
    {
        var clock = Stopwatch.StartNew();
        var bomb = await RunAsync("const a = []; for (;;) a.push({ x: new Array(100).fill(1) })", "bomb", memoryMb: 64, timeoutMs: 10_000);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(8), $"took {clock.Elapsed}");
        OutcomeAssert.Status(OutcomeStatus.MemoryLimit, bomb);
        // 40 MB of a 64 MB budget: possible only if nothing of the bomb is left in the isolate.
        var next = await RunAsync("const b = []; for (let i = 0; i < 40; i++) b.push(new Uint8Array(1 << 20).fill(1)); b.length", "bomb", memoryMb: 64);
        OutcomeAssert.Ok("40", next);
        Assert.Equal(1, next.WarmContext);
    }

    [Fact]
    public async Task TheWarmIsolateIsReplacedAfterItsExecutionsAndItsAge()
    {
        var numbers = new List<int>();
        for (int i = 0; i < 6; i++)
        {
            numbers.Add((await RunAsync("1", "bounded")).WarmContext);
        }
        Assert.Equal([1, 2, 3, 4, 1, 2], numbers);
        await Task.Delay(TimeSpan.FromSeconds(2.2));
        Assert.Equal(1, (await RunAsync("1", "bounded")).WarmContext);
    }

    [Fact]
    public async Task AnotherMemoryLimitGetsAnotherIsolate()
    {
        Assert.Equal(1, (await RunAsync("1", "limits", memoryMb: 64)).WarmContext);
        Assert.Equal(2, (await RunAsync("1", "limits", memoryMb: 64)).WarmContext);
        Assert.Equal(1, (await RunAsync("1", "limits", memoryMb: 96)).WarmContext);
        Assert.Equal(1, (await RunAsync("1", "limits", memoryMb: 64)).WarmContext);
    }

    [Fact]
    public async Task MemoryAnExecutionLeavesInTheIsolatePastTheBoundEndsIt()
    {
        // The test engine's retain leaves memory in the warm isolate, past the execution: what a script
        // would leave reachable in an engine's shared state.
        Assert.Equal(1, (await RunAsync("retain 4\nresult 1", "growth", "test")).WarmContext);
        Assert.Equal(2, (await RunAsync("retain 8\nresult 1", "growth", "test")).WarmContext);
        var third = await RunAsync("retain 8\nresult 1", "growth", "test");
        OutcomeAssert.Ok("1", third);
        Assert.Equal(3, third.WarmContext);
        // 20 MB retained > 16 MB bound: the isolate was dropped after the third.
        Assert.Equal(1, (await RunAsync("result 1", "growth", "test")).WarmContext);
    }

    [Fact]
    public async Task TheHostStaysHealthyAndWarmIsolatesAreNotRetiredWorkers()
    {
        var before = _sandbox.Statistics;
        for (int i = 0; i < 20; i++)
        {
            OutcomeAssert.Ok("3", await RunAsync("input?.a ?? 3", "steady"));
        }
        var after = _sandbox.Statistics;
        Assert.Equal(before.WorkersRetired.Values.Sum(), after.WorkersRetired.Values.Sum());
        Assert.Equal(5, after.WarmIsolatesMade - before.WarmIsolatesMade);   // 20 executions, 4 per isolate
    }

    [Fact]
    public async Task ANativeMemoryBombOnTheTestEngineEndsTheWarmIsolateAndTheWorkerStays()
    {
        Assert.Equal(1, (await RunAsync("result 1", "native-bomb", "test", memoryMb: 32)).WarmContext);
        var clock = Stopwatch.StartNew();
        var bomb = await RunAsync("allocate 4096\nresult 1", "native-bomb", "test", memoryMb: 32, timeoutMs: 10_000);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        OutcomeAssert.Status(OutcomeStatus.MemoryLimit, bomb);
        Assert.Equal(2, bomb.WarmContext);
        var next = await RunAsync("result 2", "native-bomb", "test", memoryMb: 32);
        OutcomeAssert.Ok("2", next);
        Assert.Equal(1, next.WarmContext);
    }

    [Fact]
    public async Task EngineTasksThatOutliveAnExecutionRuleTheWarmModeOut()
    {
        // SECURITY: Atomics.waitAsync and WebAssembly's asynchronous compilation settle promises from the engine's own
        // tasks, which in a warm isolate could run a finished execution's callbacks between executions, unwatched.
        foreach (var options in new[]
        {
            new SandboxOptions { IsolationUnit = IsolationUnit.Context, EnableSharedMemory = true },
            new SandboxOptions { IsolationUnit = IsolationUnit.Context, EnableWebAssembly = true },
        })
        {
            Assert.Contains(options.Validate(), m => m.StartsWith("IsolationUnit Context cannot be used with EnableSharedMemory or EnableWebAssembly", StringComparison.Ordinal));
        }
        await using var sandbox = new Sandbox(new SandboxOptions { MaxWorkers = 1, SpareWorkers = 0, EnableSharedMemory = true });
        var refused = await sandbox.RunAsync(new Submission { Code = "1", IsolationUnit = IsolationUnit.Context });
        var error = OutcomeAssert.Failed(OutcomeStatus.InvalidRequest, "InvalidRequest", refused);
        Assert.Equal("isolationUnit", refused.Error!.Field);
        Assert.Contains("EnableSharedMemory", error.Message);
        OutcomeAssert.Ok("1", await sandbox.RunAsync(new Submission { Code = "1", IsolationUnit = IsolationUnit.Isolate }));
    }

    [Fact]
    public async Task BuffersAnEarlierExecutionDroppedDoNotShrinkTheNextOnesBudget()
    {
        // 48 MB of a 64 MB budget twice in a row in one warm isolate: the first execution's buffers are garbage
        // (counted by V8's ArrayBuffer limit until collected) when the second one allocates its own.
        const string code = "const b = []; for (let i = 0; i < 48; i++) b.push(new Uint8Array(1 << 20).fill(i)); b.length";
        var first = await RunAsync(code, "buffers", memoryMb: 64);
        var second = await RunAsync(code, "buffers", memoryMb: 64);
        OutcomeAssert.Ok("48", first);
        OutcomeAssert.Ok("48", second);
        OutcomeAssert.SameWarmIsolate(first, second);
    }
}
