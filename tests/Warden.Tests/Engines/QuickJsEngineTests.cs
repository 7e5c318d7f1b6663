using System.Diagnostics;

namespace Warden.Tests.Engines;

/// <summary>
/// The <c>quickjs</c> engine (QuickJS-NG compiled to WebAssembly, run by Wasmtime) through the library, inside a
/// real locked-down worker: the same world as on V8 (input, result rules, console, errors, modules, timers, web
/// APIs) and the same attacks on every limit (CPU, wall, memory in several shapes, stack, microtask and timer
/// floods, output), each checked for its outcome, the time it took, the memory it cost and the host's health
/// afterwards — plus what only this engine has: an exact memory cap, and a guest that finds no WASI world.
/// </summary>
[Collection("sandbox")]
public sealed class QuickJsEngineTests : IAsyncLifetime
{
    private const long Mb = 1L << 20;
    private static readonly TimeSpan MaxElapsed = TimeSpan.FromSeconds(10);
    private Sandbox _sandbox = null!;

    public async Task InitializeAsync()
    {
        _sandbox = new Sandbox(new SandboxOptions { MaxWorkers = 2, SpareWorkers = 1, DefaultEngine = "quickjs" });
        await _sandbox.WarmUpAsync();
    }

    public async Task DisposeAsync() => await _sandbox.DisposeAsync();

    private async Task<(Outcome Outcome, TimeSpan Elapsed)> RunAsync(string code, string? input = null, int? timeoutMs = null,
        int? cpuMs = null, int? memoryMb = null, bool module = false, IReadOnlyDictionary<string, string>? modules = null, long? fuel = null)
    {
        var clock = Stopwatch.StartNew();
        var outcome = await _sandbox.RunAsync(new Submission
        {
            Code = code,
            InputJson = input,
            IsModule = module,
            Modules = modules,
            Limits = new ExecutionLimits(timeoutMs, cpuMs, memoryMb, fuel),
        });
        Assert.Equal("quickjs", outcome.Engine);
        return (outcome, clock.Elapsed);
    }

    private async Task AssertHealthyAsync()
    {
        var (outcome, _) = await RunAsync("[typeof leaked, input.n * 2]", input: "{\"n\":21}");
        OutcomeAssert.Ok("[\"undefined\",42]", outcome);
    }

    [Fact]
    public async Task ScriptsSeeTheSameWorldAsOnV8()
    {
        var (outcome, _) = await RunAsync(
            "console.log('hi', { a: [1, 2] }); new Promise(r => setTimeout(() => r({ k: input.k, t: typeof setTimeout, q: typeof queueMicrotask, "
            + "fixed: [(0.5).toFixed(0), (2.5).toFixed(0)] }), 5))",
            input: "{\"k\":5}");
        OutcomeAssert.Ok("{\"k\":5,\"t\":\"function\",\"q\":\"function\",\"fixed\":[\"1\",\"3\"]}", outcome);
        Assert.Equal([new ConsoleEntry("log", "hi { a: [1, 2] }")], outcome.Console);
        Assert.True(outcome.Usage.MemoryBytes > 0);
    }

    [Fact]
    public async Task TheWebApisRunInsideQuickJs()
    {
        var (outcome, _) = await RunAsync(
            "const ac = new AbortController(); ac.abort(); const t = new EventTarget(); let seen = 0; t.addEventListener('x', () => seen++); t.dispatchEvent(new Event('x'));"
            + "[new URL('https://b\u00fccher.example/a?b=1').hostname, new TextDecoder().decode(new TextEncoder().encode('\u20ac')), structuredClone({ a: [1] }).a[0],"
            + " crypto.getRandomValues(new Uint8Array(8)).length, crypto.randomUUID().length, btoa('hi'), new Blob(['xyz']).size, ac.signal.aborted, seen, performance.now() >= 0]");
        OutcomeAssert.Ok("[\"xn--bcher-kva.example\",\"\u20ac\",1,8,36,\"aGk=\",3,true,1,true]", outcome);
    }

    [Fact]
    public async Task ErrorsHaveNameMessageAndTheScriptsOwnFrames()
    {
        var (thrown, _) = await RunAsync("function f() { throw new TypeError('bad thing') }\nf()");
        var error = OutcomeAssert.Failed(OutcomeStatus.ScriptError, "TypeError", thrown);
        Assert.Equal("bad thing", error.Message);
        Assert.Equal("    at f (script.js:1:26)\n    at script.js:2:1", error.Stack);

        var (syntax, _) = await RunAsync("let x = ;");
        Assert.Equal("    at script.js:1:9", OutcomeAssert.Failed(OutcomeStatus.ScriptError, "SyntaxError", syntax).Stack);
        Assert.DoesNotContain("warden", thrown.ToJson(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task ModulesWithNamedModulesAndTopLevelAwaitRun()
    {
        var (outcome, _) = await RunAsync(
            "import { x } from './lib/a.js';\nconst y = await Promise.resolve(2);\nexport default function (i) { return [i, x, y]; }",
            input: "1", module: true, modules: new Dictionary<string, string> { ["lib/a.js"] = "export const x = 7;" });
        OutcomeAssert.Ok("[1,7,2]", outcome);

        var (missing, _) = await RunAsync("import { y } from './nope.js'; export default 1", module: true);
        Assert.Contains("Cannot find module", OutcomeAssert.Failed(OutcomeStatus.ScriptError, "Error", missing).Message);

        // A specifier of any length is the script's error, never the engine's; its quote in the message is bounded.
        var (longName, _) = await RunAsync("import('a'.repeat(100000)).then(() => 'loaded', e => [e.name, e.message.length < 300])");
        OutcomeAssert.Ok("[\"Error\",true]", longName);
    }

    [Fact]
    public async Task TheGuestFindsNoWasiWorld()
    {
        // No quickjs-libc (std, os), no files, no arguments, no environment; the time zone is UTC; the
        // clocks and randomness are the host's.
        var (outcome, _) = await RunAsync(
            "Promise.allSettled([import('std'), import('os'), import('/etc/passwd'), import('file:///etc/passwd')]).then(r => ["
            + "r.map(x => x.status).join(), typeof std, typeof os, typeof scriptArgs, typeof print, typeof process, typeof require, typeof WebAssembly,"
            + " new Date(0).getTimezoneOffset(), Date.now() > 1.7e12])");
        OutcomeAssert.Ok("[\"rejected,rejected,rejected,rejected\",\"undefined\",\"undefined\",\"undefined\",\"undefined\",\"undefined\",\"undefined\",\"undefined\",0,true]", outcome);

        // The clocks are as coarse as V8's in Warden: performance.now() in steps of 0.1 ms, Date.now() in whole ms.
        var (clocks, _) = await RunAsync(
            "const t = []; for (let i = 0; i < 2000; i++) t.push(performance.now());"
            + " [t.every(x => Math.abs(x * 10 - Math.round(x * 10)) < 1e-6), Number.isInteger(Date.now()), new Set(t).size < 2000]");
        OutcomeAssert.Ok("[true,true,true]", clocks);
    }

    [Fact]
    public async Task MathRandomIsFreshInEveryExecution()
    {
        var (first, _) = await RunAsync("[Math.random(), Math.random()]");
        var (second, _) = await RunAsync("[Math.random(), Math.random()]");
        Assert.Equal(OutcomeStatus.Ok, first.Status);
        Assert.NotEqual(first.ResultJson, second.ResultJson);
    }

    [Fact]
    public async Task TheQuickJsWorkerLoadsNoV8()
    {
        var (outcome, _) = await RunAsync("1");
        int worker = WorkerProcessInspector.FindWorker(outcome.WorkerPid);
        string maps = File.ReadAllText($"/proc/{worker}/maps");
        Assert.Contains("libwasmtime", maps);
        Assert.DoesNotContain("ClearScriptV8", maps);
    }

    private const string Fib = "function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2) } fib(22)";

    /// <summary>usage.fuel is reported for every execution and is the same number on every run of the same submission.</summary>
    [Fact]
    public async Task FuelIsCountedAndDeterministic()
    {
        var (first, _) = await RunAsync(Fib);
        var (second, _) = await RunAsync(Fib);
        var (tiny, _) = await RunAsync("1");
        OutcomeAssert.Ok("17711", first);
        OutcomeAssert.Ok("17711", second);
        Assert.NotNull(first.Usage.Fuel);
        Assert.Equal(first.Usage.Fuel, second.Usage.Fuel);
        Assert.True(tiny.Usage.Fuel > 0 && tiny.Usage.Fuel < first.Usage.Fuel / 10, $"tiny {tiny.Usage.Fuel}, fib {first.Usage.Fuel}");

        // Loading the web APIs costs the same every time too (their libraries draw ids from a fixed sequence).
        const string WebApis = "[new URL('https://x.example/a?b=1').pathname, new TextEncoder().encode('x').length, structuredClone({ a: 1 }).a, typeof AbortController]";
        var (web1, _) = await RunAsync(WebApis);
        var (web2, _) = await RunAsync(WebApis);
        OutcomeAssert.Ok("[\"/a\",1,1,\"function\"]", web1);
        Assert.Equal(web1.Usage.Fuel, web2.Usage.Fuel);

        // Exactly the fuel it used is enough, and it uses the same again under the limit; half of it is not enough.
        var (enough, _) = await RunAsync(Fib, fuel: first.Usage.Fuel);
        OutcomeAssert.Ok("17711", enough);
        Assert.Equal(first.Usage.Fuel, enough.Usage.Fuel);
        var (half, _) = await RunAsync(Fib, fuel: first.Usage.Fuel / 2);
        Assert.Equal(LimitKind.Fuel, OutcomeAssert.Failed(OutcomeStatus.Timeout, "TimeoutError", half).Limit);
    }

    [Fact]
    public async Task RunningOutOfFuelEndsABusyLoopAtOnce()
    {
        var (outcome, elapsed) = await RunAsync("while (true) {}", fuel: 100_000_000, timeoutMs: 30_000);
        var error = OutcomeAssert.Failed(OutcomeStatus.Timeout, "TimeoutError", outcome);
        Assert.Equal(LimitKind.Fuel, error.Limit);
        Assert.Equal(100_000_000, outcome.Usage.Fuel);
        Assert.True(elapsed < TimeSpan.FromSeconds(5), $"took {elapsed}");
        await AssertHealthyAsync();
    }

    public static TheoryData<string, string, int?, int?> TimeAttacks => new()
    {
        { "busy loop, CPU limit", "while (true) {}", 5_000, 200 },
        { "busy loop, wall limit", "for (;;) {}", 300, null },
        { "microtask flood", "function f() { Promise.resolve().then(f) } f(); 1", 300, null },
        { "catastrophic backtracking", "/(a+)+$/.test('a'.repeat(40) + '!')", 300, null },
        { "timers that never end", "setInterval(() => {}, 0); new Promise(() => {})", 300, null },
        { "sort with a slow comparator", "new Array(1e6).fill(0).map((_, i) => -i).sort((a, b) => { for (let i = 0; i < 1e3; i++); return a - b })", 300, null },
    };

    [Theory]
    [MemberData(nameof(TimeAttacks))]
    public async Task TimeAttacksEndInTimeoutSoonAfterTheLimit(string name, string code, int? timeoutMs, int? cpuMs)
    {
        var (outcome, elapsed) = await RunAsync(code, timeoutMs: timeoutMs, cpuMs: cpuMs);
        var error = OutcomeAssert.Failed(OutcomeStatus.Timeout, "TimeoutError", outcome);
        Assert.Equal(cpuMs is null ? LimitKind.Wall : LimitKind.Cpu, error.Limit);
        int limit = cpuMs ?? timeoutMs!.Value;
        Assert.True(elapsed < TimeSpan.FromMilliseconds(limit + 1500), $"{name}: answered after {elapsed.TotalMilliseconds} ms");
        await AssertHealthyAsync();
    }

    public static TheoryData<string, string> MemoryBombs => new()
    {
        { "object heap bomb", "let x = {}; for (;;) x = { next: x, pad: [1, 2, 3, 4] }" },
        { "string heap bomb", "const a = []; for (let i = 0; ; i++) a.push('x'.repeat(64) + i)" },
        { "filled array bomb", "const a = []; for (;;) a.push(new Array(1000).fill(0))" },
        { "one huge array", "new Array(2 ** 28).fill(1.5); 1" },
        { "ArrayBuffer bomb", "const keep = []; for (;;) keep.push(new ArrayBuffer(1 << 20))" },
        { "one huge ArrayBuffer", "new ArrayBuffer(2 ** 30); 1" },
        { "string doubling", "let s = 'x'; for (;;) s = s + s" },
        { "timer flood", "for (;;) setTimeout(() => {}, 1e9)" },
        { "promise flood", "const keep = []; for (;;) keep.push(new Promise(() => {}))" },
        { "caught and retried", "const keep = []; for (;;) { try { keep.push(new Array(1e5).fill(1)) } catch (e) { keep.length = 0; keep.push(e) } }" },
    };

    /// <summary>
    /// The cap is exact: the guest's memory never passes the budget (usage.memoryBytes is its linear memory), the
    /// outcome is memory_limit whatever shape the bomb has, even when the script catches and retries (QuickJS's
    /// out-of-memory error is uncatchable), and the worker grows by at most the budget plus 32 MB.
    /// </summary>
    [Theory]
    [MemberData(nameof(MemoryBombs))]
    public async Task MemoryBombsEndAtTheExactCap(string name, string code)
    {
        const int budgetMb = 32;
        var (outcome, elapsed) = await RunAsync(code, memoryMb: budgetMb, timeoutMs: 20_000);
        if (name == "string doubling" && outcome.Status == OutcomeStatus.ScriptError)
        {
            // QuickJS's maximum string length is a RangeError inside the script, below the budget.
            Assert.Equal("RangeError", outcome.Error!.Name);
        }
        else
        {
            var error = OutcomeAssert.Failed(OutcomeStatus.MemoryLimit, "MemoryLimitError", outcome);
            Assert.Equal(LimitKind.Heap, error.Limit);
        }
        Assert.True(outcome.Usage.MemoryBytes <= budgetMb * Mb, $"{name}: the guest's memory reached {outcome.Usage.MemoryBytes} bytes");
        Assert.True(elapsed < MaxElapsed, $"{name}: took {elapsed}");
        await AssertHealthyAsync();
    }

    /// <summary>
    /// Nothing of a bomb stays in its worker (the store and its memory are dropped), so the worker is kept for the
    /// next execution: retiring it would make every 0.1 s bomb cost the host a worker start-up (~1 s of CPU).
    /// </summary>
    [Fact]
    public async Task AWorkerIsKeptAfterAMemoryLimitAtTheCap()
    {
        var (bomb, _) = await RunAsync("const keep = []; for (;;) keep.push(new ArrayBuffer(1 << 20))", memoryMb: 32, timeoutMs: 20_000);
        Assert.Equal(LimitKind.Heap, OutcomeAssert.Failed(OutcomeStatus.MemoryLimit, "MemoryLimitError", bomb).Limit);
        Assert.Contains(bomb.WorkerPid, _sandbox.WorkerPids);
        await AssertHealthyAsync();
    }

    [Fact]
    public async Task TheWorkerGrowsByAtMostTheBudgetPlus32Mb()
    {
        const int budgetMb = 64;
        await RunAsync("1", memoryMb: budgetMb);
        // Every worker of the sandbox is watched: the bomb runs in whichever is free.
        var samplers = _sandbox.WorkerPids.Select(pid => new ResidentSampler(WorkerProcessInspector.FindWorker(pid))).ToList();
        var (outcome, _) = await RunAsync("const a = []; for (;;) a.push(new Array(1000).fill(0))", memoryMb: budgetMb, timeoutMs: 20_000);
        long growth = samplers.Max(sampler => sampler.Stop());
        OutcomeAssert.Status(OutcomeStatus.MemoryLimit, outcome);
        Assert.True(growth <= (budgetMb + 32) * Mb, $"a worker grew by {growth / Mb} MB");
        Assert.True(growth >= budgetMb / 2 * Mb, $"the bomb grew its worker by only {growth / Mb} MB: was it watched?");
        await AssertHealthyAsync();
    }

    /// <summary>A large input counts against the guest's budget, and the worker has room for the frame that carries it.</summary>
    [Fact]
    public async Task ALargeInputFitsItsBudgetOrEndsAtTheCap()
    {
        string input = "{\"s\":\"" + new string('x', 15 << 20) + "\"}";
        var (fits, _) = await RunAsync("input.s.length", input: input, memoryMb: 64);
        OutcomeAssert.Ok((15 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture), fits);
        var (tooBig, _) = await RunAsync("input.s.length", input: input, memoryMb: 16);
        Assert.Equal(LimitKind.Heap, OutcomeAssert.Failed(OutcomeStatus.MemoryLimit, "MemoryLimitError", tooBig).Limit);
        await AssertHealthyAsync();
    }

    [Fact]
    public async Task DeepRecursionIsTheScriptsRangeError()
    {
        var (outcome, elapsed) = await RunAsync("function f(n) { return f(n + 1) + 1 } f(0)");
        var error = OutcomeAssert.Failed(OutcomeStatus.ScriptError, "RangeError", outcome);
        Assert.Equal("Maximum call stack size exceeded", error.Message);
        Assert.True(elapsed < MaxElapsed);

        // Caught, the script goes on (QuickJS's own limit: ~1,100 frames of a small function, V8 allows ~10,000).
        var (caught, _) = await RunAsync("let d = 0; function f() { d++; f() } let a; try { f() } catch (e) { a = e.name } [a, d > 500]");
        OutcomeAssert.Ok("[\"RangeError\",true]", caught);

        // Recursion inside a built-in's C code (JSON.parse of deeply nested text) runs out of Wasmtime's native stack
        // before QuickJS's check: the same RangeError, but the script cannot catch it (the VM cannot run handlers any more).
        var (native, nativeElapsed) = await RunAsync("try { JSON.parse('['.repeat(1e5) + ']'.repeat(1e5)) } catch (e) { 'caught' }");
        Assert.Equal("Maximum call stack size exceeded", OutcomeAssert.Failed(OutcomeStatus.ScriptError, "RangeError", native).Message);
        Assert.True(nativeElapsed < MaxElapsed);
        await AssertHealthyAsync();
    }

    [Theory]
    [InlineData("console flood", "for (;;) console.log('x'.repeat(1000))")]
    [InlineData("huge result", "'x'.repeat(4 << 20)")]
    public async Task OutputFloodsEndInOutputLimit(string name, string code)
    {
        var (outcome, elapsed) = await RunAsync(code, timeoutMs: 20_000);
        OutcomeAssert.Failed(OutcomeStatus.OutputLimit, "OutputLimitError", outcome);
        Assert.True(elapsed < MaxElapsed, $"{name}: took {elapsed}");
        await AssertHealthyAsync();
    }
}
