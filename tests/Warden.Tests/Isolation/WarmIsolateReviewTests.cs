namespace Warden.Tests.Isolation;

/// <summary>
/// The attack review of the warm-isolate mode (<see cref="IsolationUnit.Context"/>, issue 13), after
/// <see cref="WarmContextLeakTests"/>: what those do not try. Memory an execution can leave in the isolate outside
/// every context — in tables V8 and ClearScript keep per isolate and never collect — so that a later execution of
/// the same key would find part of its budget taken and end in a <c>memory_limit</c> it would not meet alone.
/// Each test runs the later execution's code in a fresh isolate first: it must pass there, or the test proves nothing.
/// </summary>
[Collection("sandbox")]
public sealed class WarmIsolateReviewTests : IAsyncLifetime
{
    private Sandbox _sandbox = null!;
    private long _diedAtStart;

    public async Task InitializeAsync()
    {
        _sandbox = new Sandbox(new SandboxOptions
        {
            MaxWorkers = 2,
            SpareWorkers = 1,
            IsolationUnit = IsolationUnit.Context,
            // 16 MiB of source: the largest a sandbox may allow, so that one execution can show what a few would.
            Limits = new SandboxLimits { MaxCodeBytes = 16 << 20 },
        });
        await _sandbox.WarmUpAsync();
        _diedAtStart = Died();
    }

    public async Task DisposeAsync() => await _sandbox.DisposeAsync();

    private long Died() => _sandbox.Statistics.WorkersRetired.GetValueOrDefault("died");

    private Task<Outcome> RunAsync(string? key, string code, int? memoryMb = null, IsolationUnit? unit = null) =>
        _sandbox.RunAsync(new Submission
        {
            Code = code,
            IsolationKey = key,
            IsolationUnit = unit,
            Limits = new ExecutionLimits(MemoryMb: memoryMb),
        });

    /// <summary><paramref name="megabytes"/> MB of live doubles (1 MB arrays), kept to the end: the later execution's need.</summary>
    private static string Allocate(int megabytes) =>
        $"const kept = []; for (let i = 0; i < {megabytes}; i++) kept.push(new Array(131072).fill(i + 0.5)); kept.length";

    /// <summary>The later execution's code passes on its own, in a fresh isolate of the same memory limit.</summary>
    private async Task AssertPassesInAFreshIsolateAsync(string code, string expected, int? memoryMb)
    {
        var fresh = await RunAsync("fresh-control", code, memoryMb, IsolationUnit.Isolate);
        Assert.Equal(0, fresh.WarmContext);
        OutcomeAssert.Ok(expected, fresh);
    }

    [Fact]
    public async Task SymbolsOneExecutionRegisteredCannotPushTheNextIntoAFalseMemoryLimit()
    {
        // The Symbol.for registry is the isolate's, and V8 never removes a registered symbol (nor its description): what
        // A registers outlives A's context, survives every collection and counts against every later context's heap
        // limit. Found: 9 MB registered by A under a 16 MB limit were kept (the growth bound was 32 MB, twice the
        // whole budget) and B, which needs 10 MB and gets them in a fresh isolate, ended in memory_limit. The worker
        // must now drop an isolate that keeps more than a quarter of the budget, so B gets a fresh one in the same worker.
        const string key = "review-symbol-registry";
        const int memoryMb = 16;
        string need = Allocate(10);
        await AssertPassesInAFreshIsolateAsync(need, "10", memoryMb);

        var warmUp = await RunAsync(key, "1", memoryMb);
        Assert.True(warmUp.WarmContext >= 1, warmUp.ToJson());
        var a = await RunAsync(key, """
            const pad = 'registered-by-A-'.repeat(64);   // ~1 KB a description
            let n = 0;
            for (let i = 0; i < 9000; i++) { Symbol.for(pad + i); n++; }
            n
            """, memoryMb);
        OutcomeAssert.Ok("9000", a);
        Assert.Equal(warmUp.WarmContext + 1, a.WarmContext);

        var b = await RunAsync(key, need, memoryMb);
        OutcomeAssert.Ok("10", b);
        Assert.Equal(a.WorkerPid, b.WorkerPid);
        Assert.Equal(1, b.WarmContext);   // a fresh isolate: A's registry went with A's
        Assert.Equal(_diedAtStart, Died());

        // Below the bound the isolate is kept (B' really shares A's isolate, registry included), and B' still gets
        // what it needs: a few hundred KB registered cost it nothing it would notice.
        var small = await RunAsync(key, "for (let i = 0; i < 300; i++) Symbol.for('registered-by-A-'.repeat(64) + i); 'A'", memoryMb);
        OutcomeAssert.Ok("\"A\"", small);
        var bShared = await RunAsync(key, need + ", Symbol.keyFor(Symbol.for('registered-by-A-'.repeat(64) + 1)).length", memoryMb);
        OutcomeAssert.SameWarmIsolate(small, bShared);
        OutcomeAssert.Ok("1025", bShared);
    }

    [Fact]
    public async Task LocatingASyntaxErrorLeavesNoCompiledScriptInTheWarmIsolate()
    {
        // A SyntaxError an execution's top level throws (JSON.parse of bad text: the commonest) is handed to the
        // locator, which compiles the whole source to tell a parse error from a thrown one. ClearScript keeps every
        // classic script it compiles in a cache of the isolate, by strong handle, up to 1024 of them, never collected
        // (and not cleared before its heap limit is declared passed): in a warm isolate A's source — 14 MB here, one
        // non-Latin-1 character makes V8 store it two bytes a character — stayed in the heap for every later execution.
        // Found: B, which needs 110 MB of its 128 MB and gets them in a fresh isolate, ended in memory_limit after A.
        const string key = "review-locator-cache";
        string need = Allocate(110);
        await AssertPassesInAFreshIsolateAsync(need, "110", null);

        // The locator still finds a real parse error's line and column in a warm context, and the isolate is kept.
        var parse = await RunAsync(key, "const ok = 1;\nconst = 2;");
        var located = OutcomeAssert.Failed(OutcomeStatus.ScriptError, "SyntaxError", parse);
        Assert.Contains("script.js:2:", located.Stack);
        Assert.True(parse.WarmContext >= 1, parse.ToJson());

        string source = "/* \u0100 " + new string('x', 7_000_000) + " */\nJSON.parse('{')";
        var a = await RunAsync(key, source);
        var error = OutcomeAssert.Failed(OutcomeStatus.ScriptError, "SyntaxError", a);
        Assert.Contains("JSON", error.Message);
        Assert.Equal(parse.WarmContext + 1, a.WarmContext);

        var b = await RunAsync(key, need);
        OutcomeAssert.SameWarmIsolate(a, b);
        OutcomeAssert.Ok("110", b);
        Assert.Equal(_diedAtStart, Died());
    }
    [Fact]
    public async Task ACleanupPendingWhenTheExecutionEndsNeverRunsOutsideIt()
    {
        // Tried, nothing found (kept as a guard): V8 posts FinalizationRegistry cleanups as tasks, and ClearScript runs
        // queued tasks whenever the isolate is next entered — also when the worker revokes A's bridge and makes the next
        // context, unwatched. A makes its targets die in a full collection forced at its very end (resizable buffers past
        // an eighth of the budget make the prelude ask for one), so that a cleanup is likely pending as A ends. The callback V8 sees
        // only queues (the prelude's), and A's event loop never runs again: A's spinning, logging callback must run
        // neither between executions (the worker would hang, unwatched) nor in B.
        const string key = "review-pending-cleanup";
        var a = await RunAsync(key, """
            const registry = new FinalizationRegistry(() => {
              console.log('A cleanup ran');
              const end = Date.now() + 3000; while (Date.now() < end) {}
            });
            for (let i = 0; i < 2000; i++) registry.register({ i, pad: new Array(20).fill(i) }, i);
            globalThis.keep = registry;
            for (let i = 0; i < 40; i++) new ArrayBuffer(1 << 20, { maxByteLength: 1 << 20 });
            'A'
            """);
        OutcomeAssert.Ok("\"A\"", a);
        Assert.Empty(a.Console);

        var b = await RunAsync(key, "new Promise(r => setTimeout(() => r(typeof keep), 100))");
        OutcomeAssert.SameWarmIsolate(a, b);
        OutcomeAssert.Ok("\"undefined\"", b);
        Assert.Empty(b.Console);
        Assert.True(b.Usage.WallMs < 1500, $"B took {b.Usage.WallMs} ms");
        Assert.Equal(_diedAtStart, Died());
    }

    [Fact]
    public async Task WorkAResultsSerialisationLeavesBehindNeverRunsOutsideIt()
    {
        // Tried, nothing found (kept as a guard): the result is serialised inside the isolate, so its toJSON and getters
        // run after the script settled. Work they queue then — a timer, a spinning microtask chain ended by a timer, a
        // console entry — must stay A's: the timer dies with A's event loop, the microtasks drain in A's own entry.
        const string key = "review-serialisation";
        var a = await RunAsync(key, """
            ({
              toJSON() {
                setTimeout(() => { console.log('A timer from toJSON'); for (;;) {} }, 20);
                Promise.resolve().then(() => console.log('A microtask from toJSON'));
                return { serialised: true };
              },
              get late() { return 1; },
            })
            """);
        OutcomeAssert.Ok("{\"serialised\":true}", a);

        var b = await RunAsync(key, "new Promise(r => setTimeout(() => r('B'), 150))");
        OutcomeAssert.SameWarmIsolate(a, b);
        OutcomeAssert.Ok("\"B\"", b);
        Assert.DoesNotContain(b.Console, entry => entry.Text.StartsWith('A'));
        Assert.True(b.Usage.WallMs < 1500, $"B took {b.Usage.WallMs} ms");
        Assert.Equal(_diedAtStart, Died());
    }
}
