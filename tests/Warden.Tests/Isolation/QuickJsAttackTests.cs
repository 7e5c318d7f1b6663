using System.Diagnostics;

namespace Warden.Tests.Isolation;

/// <summary>
/// Attacks on the <c>quickjs</c> engine by a script author, each through the library in a real worker, checked
/// for its outcome, the time it took and the sandbox's health afterwards: reaching Warden's own functions off the
/// stack, host-side failures a script can provoke (odd import specifiers, huge strings to the host), patched
/// built-ins and hostile thrown values around the prelude's reporting, stack shapes that go deeper natively than
/// QuickJS counts, finalizer throws, forged memory-limit text, and state left between executions (epochs, fuel).
/// </summary>
[Collection("sandbox")]
public sealed class QuickJsAttackTests : IAsyncLifetime
{
    private static readonly TimeSpan MaxElapsed = TimeSpan.FromSeconds(15);
    private Sandbox _sandbox = null!;

    public async Task InitializeAsync()
    {
        // Output caps at their highest, as an operator may set them: what reaches the host is then largest.
        _sandbox = new Sandbox(new SandboxOptions
        {
            MaxWorkers = 2,
            SpareWorkers = 1,
            DefaultEngine = "quickjs",
            Limits = new SandboxLimits { MaxConsoleBytes = 64 << 20, MaxResultBytes = 16 << 20 },
        });
        await _sandbox.WarmUpAsync();
    }

    public async Task DisposeAsync() => await _sandbox.DisposeAsync();

    private async Task<Outcome> RunAsync(string code, bool module = false, IReadOnlyDictionary<string, string>? modules = null,
        int? timeoutMs = null, int? memoryMb = null, long? fuel = null)
    {
        var clock = Stopwatch.StartNew();
        var outcome = await _sandbox.RunAsync(new Submission
        {
            Code = code,
            IsModule = module,
            Modules = modules,
            Limits = new ExecutionLimits(timeoutMs, null, memoryMb, fuel),
        });
        Assert.Equal("quickjs", outcome.Engine);
        Assert.True(clock.Elapsed < MaxElapsed, $"took {clock.Elapsed}");
        return outcome;
    }

    private async Task AssertHealthyAsync() =>
        OutcomeAssert.Ok("[\"undefined\",42]", await RunAsync("[typeof leaked, 21 * 2]"));

    /// <summary>
    /// QuickJS-NG's call sites hand out the function of any frame, strict or not: before the guard, a script took
    /// the prelude's <c>start</c> off the stack (and could call it with limits of its choosing). Every frame that
    /// is not the submission's own now answers undefined; the script's own frames still answer.
    /// </summary>
    [Fact]
    public async Task ThePreludesFunctionsCannotBeTakenOffTheStack()
    {
        const string harvest = """
            const leaked = [];
            let own = 0;
            function grab() {
              Error.prepareStackTrace = (e, sites) => {
                for (const s of sites) {
                  const f = s.getFunction();
                  if (f === grab) own++;
                  else if (f !== undefined && s.getFileName() !== '<input>' && s.getFileName() !== 'module.mjs') leaked.push(s.getFunctionName() + '@' + s.getFileName());
                }
                return '';
              };
              new Error().stack;
              Error.prepareStackTrace = undefined;
            }
            """;
        var classic = await RunAsync(harvest + """
            grab();
            console.log({ get x() { grab(); return 1; } });
            new Promise(r => setTimeout(() => { grab(); queueMicrotask(() => { grab(); r({ toJSON() { grab(); return [leaked, own > 0]; } }); }); }, 0))
            """);
        OutcomeAssert.Ok("[[],true]", classic);

        // The call site's getFunction cannot be replaced by the script either.
        var locked = await RunAsync("""
            let proto; Error.prepareStackTrace = (e, s) => { proto = Object.getPrototypeOf(s[0]); return ''; }; new Error().stack;
            const d = Object.getOwnPropertyDescriptor(proto, 'getFunction'); [d.writable, d.configurable, Reflect.defineProperty(proto, 'getFunction', { value: 1 })]
            """);
        OutcomeAssert.Ok("[false,false,false]", locked);

        // In a module (strict), with the web API bundle loading under a patched built-in.
        var module = await RunAsync(harvest + """
            const define = Object.defineProperty;
            Object.defineProperty = function (...a) { grab(); return define.apply(this, a); };
            new URL('https://example.com/');
            Object.defineProperty = define;
            export default [leaked, own > 0];
            """, module: true);
        OutcomeAssert.Ok("[[],true]", module);
        await AssertHealthyAsync();
    }

    /// <summary>Before the fix, a specifier longer than the loader's bound trapped the host call: internal_error.</summary>
    [Fact]
    public async Task AnOverlongImportSpecifierIsNotFoundNotAnInternalError()
    {
        var dynamic = await RunAsync("import('a'.repeat(5000)).then(() => 'loaded', e => e.message.slice(0, 24) + '|' + e.message.length)");
        OutcomeAssert.Ok("\"Cannot find module 'aaaa|268\"", dynamic);

        var relative = await RunAsync("export default await import('./' + '\u20ac'.repeat(3000)).then(() => 'loaded', e => e.name);", module: true);
        OutcomeAssert.Ok("\"Error\"", relative);

        var fromStatic = await RunAsync("import x from 'b" + new string('b', 6000) + "'; export default x;", module: true);
        var error = OutcomeAssert.Failed(OutcomeStatus.ScriptError, "Error", fromStatic);
        Assert.StartsWith("Cannot find module 'bbbb", error.Message);

        // NUL ends the specifier where the C string ends: it finds only a submitted module, never anything else.
        var nul = await RunAsync("export default (await import('lib.js\\u0000../../etc/passwd')).default;", module: true,
            modules: new Dictionary<string, string> { ["lib.js"] = "export default 7;" });
        OutcomeAssert.Ok("7", nul);
        await AssertHealthyAsync();
    }

    /// <summary>
    /// The prelude bounds console text in UTF-16 units and counts the result's JSON as a lower bound; in UTF-8 both can
    /// pass the 64 MiB the host reads from the guest. Before the fix that was internal_error; now the limit's status.
    /// </summary>
    [Fact]
    public async Task HugeUtf8TextIsRefusedByItsLengthNotAnInternalError()
    {
        var console = await RunAsync("console.log('\\u20ac'.repeat(23e6)); 1", memoryMb: 512, timeoutMs: 20_000);
        Assert.Equal(LimitKind.Console, OutcomeAssert.Failed(OutcomeStatus.OutputLimit, "OutputLimitError", console).Limit);

        var result = await RunAsync("'\\u0001'.repeat(12e6)", memoryMb: 512, timeoutMs: 20_000);
        Assert.Equal(LimitKind.Result, OutcomeAssert.Failed(OutcomeStatus.OutputLimit, "OutputLimitError", result).Limit);

        var fits = await RunAsync("console.log('\\u20ac\\u0000\\ud800'); ['\\u20ac'.repeat(3)]");
        OutcomeAssert.Ok("[\"\u20ac\u20ac\u20ac\"]", fits);
        Assert.StartsWith("\u20ac\0\ufffd", Assert.Single(fits.Console).Text);
        await AssertHealthyAsync();
    }

    /// <summary>Built-ins the prelude's reporting meets, patched by the script, and hostile thrown values: still the script's own error.</summary>
    [Fact]
    public async Task PatchedBuiltInsAndHostileThrownValuesStillReportTheScriptsError()
    {
        const string patches = """
            RegExp.prototype[Symbol.replace] = function () { return 'x'.repeat(1e7); };
            RegExp.prototype.exec = function () { return null; };
            String.prototype[Symbol.split] = function () { return ['at evil (/etc/passwd:1:1)']; };
            Array.prototype[Symbol.iterator] = function* () { yield 'forged'; };
            Object.defineProperty(Error, Symbol.hasInstance, { value: () => { throw new Error('trap'); } });
            Object.defineProperty(SyntaxError, Symbol.hasInstance, { value: () => true });
            Object.defineProperty(Promise.prototype, 'constructor', { get() { throw new Error('ctor'); } });
            Object.defineProperty(Object.prototype, 'status', { set(v) { throw new Error('set'); } });
            JSON.stringify = () => '"forged"';
            console.group('g'); console.log('a\nb'); console.assert(false, 'c');
            """;
        var thrown = await RunAsync(patches + "throw new TypeError('mine')");
        var error = OutcomeAssert.Failed(OutcomeStatus.ScriptError, "TypeError", thrown);
        Assert.Equal("mine", error.Message);
        Assert.DoesNotContain("passwd", error.Stack);
        Assert.DoesNotContain("warden:", error.Stack);

        var ok = await RunAsync(patches + "({ a: 1 })");
        OutcomeAssert.Ok("{\"a\":1}", ok);

        var proxy = await RunAsync("throw new Proxy({}, { get() { return undefined; }, getPrototypeOf() { for (;;) {} } })", timeoutMs: 1000);
        Assert.Equal(OutcomeStatus.Timeout, proxy.Status);

        var getters = await RunAsync("const e = new Error('x'); Object.defineProperty(e, 'name', { get() { throw e; } }); "
            + "Object.defineProperty(e, 'stack', { get() { return 'Error\\n    at f (warden:prelude:1:1)\\n    at g (module.mjs:1:1)'; } }); throw e;");
        var named = OutcomeAssert.Failed(OutcomeStatus.ScriptError, "Error", getters);
        Assert.Equal("The thrown value could not be inspected", named.Message);
        Assert.DoesNotContain("warden:", named.Stack);
        await AssertHealthyAsync();
    }

    /// <summary>JS → C → JS recursion uses more native stack than QuickJS counts: Wasmtime's limit stops it, never the worker.</summary>
    [Theory]
    [InlineData("eval('['.repeat(200000))")]
    [InlineData("JSON.parse('['.repeat(200000))")]
    [InlineData("const o = {}; o.toString = () => String(o); String(o)")]
    [InlineData("let a = []; for (let i = 0; i < 100000; i++) a = [a]; JSON.stringify(a)")]
    [InlineData("let a = []; for (let i = 0; i < 100000; i++) a = [a]; a")]
    [InlineData("const p = new Proxy({}, { get(t, k) { return p[k]; } }); p.x")]
    [InlineData("function f(n) { return [1].map(() => f(n + 1))[0]; } f(0)")]
    public async Task DeepNativeRecursionIsARangeErrorNeverAFault(string code)
    {
        // Caught or not (the native limit is not catchable), the outcome is the script's RangeError.
        var outcome = await RunAsync("try { " + code + " } catch (e) { throw e }");
        var error = OutcomeAssert.Failed(OutcomeStatus.ScriptError, "RangeError", outcome);
        Assert.Equal("Maximum call stack size exceeded", error.Message);
        await AssertHealthyAsync();
    }

    /// <summary>A finalizer's throw (QuickJS runs it as a job) is dropped: never read as the memory limit.</summary>
    [Fact]
    public async Task FinalizerThrowsAreDroppedNotAMemoryLimit()
    {
        var outcome = await RunAsync("""
            let ran = 0;
            const values = [null, undefined, 0, 'x', new Proxy({}, {})];
            const fr = new FinalizationRegistry((i) => { ran++; throw values[i]; });
            (function () { for (let i = 0; i < values.length; i++) fr.register({}, i); })();
            new Promise(r => setTimeout(() => r(ran), 5))
            """);
        OutcomeAssert.Ok("5", outcome);
        await AssertHealthyAsync();
    }

    /// <summary>
    /// memory_limit is decided by the engine, never by text a script could forge: an error dressed as the engine's
    /// out-of-memory error is the script's error, and the script cannot make an uncatchable InternalError. At the cap (the documented rule), a failure is the
    /// cap's, and a script that swallows every refusal still ends as memory_limit.
    /// </summary>
    [Fact]
    public async Task MemoryLimitCannotBeForgedAndTheCapRuleHolds()
    {
        var forged = await RunAsync("const e = new Error('out of memory'); e.name = 'InternalError'; throw e;", memoryMb: 32);
        Assert.Equal("out of memory", OutcomeAssert.Failed(OutcomeStatus.ScriptError, "InternalError", forged).Message);

        // In this QuickJS build every InternalError is uncatchable: before the prelude removed the constructor,
        // this passed every catch and the host reported memory_limit with the whole budget as used.
        var noConstructor = await RunAsync("let r; try { throw new InternalError('x'); } catch (e) { r = e.name; } "
            + "[r, typeof InternalError, Object.getOwnPropertyNames(globalThis).includes('InternalError')]", memoryMb: 32);
        OutcomeAssert.Ok("[\"ReferenceError\",\"undefined\",false]", noConstructor);

        var uncatchableNull = await RunAsync("throw null", memoryMb: 32);
        Assert.Equal("Uncaught null", OutcomeAssert.Failed(OutcomeStatus.ScriptError, "Error", uncatchableNull).Message);

        var swallowed = await RunAsync("""
            let keep = [];
            for (let i = 0; i < 1000; i++) { try { keep.push('x'.repeat(1 << 20) + i); } catch (e) { } }
            'survived'
            """, memoryMb: 32);
        Assert.Equal(LimitKind.Heap, OutcomeAssert.Failed(OutcomeStatus.MemoryLimit, "MemoryLimitError", swallowed).Limit);

        var atCap = await RunAsync("""
            let keep = [];
            try { for (;;) keep.push(new Uint8Array(1 << 20)); } catch (e) { }
            keep = null;
            throw new TypeError('my own failure');
            """, memoryMb: 32);
        Assert.Equal(OutcomeStatus.MemoryLimit, atCap.Status);
        await AssertHealthyAsync();
    }

    /// <summary>
    /// The epoch is process-wide: an execution stopped by the watchdog (busy, or idle between timers while the
    /// watchdog re-issues its interrupt) must leave nothing that stops the next one, and fuel never carries over.
    /// </summary>
    [Fact]
    public async Task NothingOfAStoppedExecutionReachesTheNext()
    {
        for (int i = 0; i < 3; i++)
        {
            var busy = await RunAsync("for (;;) {}", timeoutMs: 200);
            Assert.Equal(OutcomeStatus.Timeout, busy.Status);
            var idle = await RunAsync("new Promise(() => setInterval(() => {}, 1))", timeoutMs: 200);
            Assert.Equal(OutcomeStatus.Timeout, idle.Status);
            var fuelOut = await RunAsync("for (;;) {}", fuel: 10_000_000);
            Assert.Equal(LimitKind.Fuel, OutcomeAssert.Failed(OutcomeStatus.Timeout, "TimeoutError", fuelOut).Limit);
            // At once afterwards, in the same workers: a script that needs time between entries.
            var next = await RunAsync("let n = 0; for (let j = 0; j < 1e6; j++) n += j; new Promise(r => setTimeout(() => r(n > 0), 20))", timeoutMs: 5000);
            OutcomeAssert.Ok("true", next);
        }

        const string counted = "let n = 0; for (let j = 0; j < 1e5; j++) n += j; n";
        var first = await RunAsync(counted, fuel: 1_000_000_000);
        var second = await RunAsync(counted, fuel: 1_000_000_000);
        Assert.Equal(first.Usage.Fuel, second.Usage.Fuel);
        await AssertHealthyAsync();
    }

    /// <summary>
    /// Every VM starts from one memory image (QuickJsPreparedModule): what an execution writes into its VM — globals,
    /// patched built-ins and prototypes, the prelude's own state, a grown heap — must never be seen by the next VM
    /// made from the same image, in the same worker (one worker, executions back to back).
    /// </summary>
    [Fact]
    public async Task WhatAnExecutionWritesNeverReachesTheNextVmFromTheSameImage()
    {
        await using var sandbox = new Sandbox(new SandboxOptions { MaxWorkers = 1, SpareWorkers = 0, DefaultEngine = "quickjs" });
        const string poison = """
            globalThis.leaked = 'secret';
            Object.prototype.polluted = 1;
            Array.prototype.push = () => 'patched';
            JSON.stringify = () => '"forged"';
            Math.random = () => 0.5;
            const keep = []; for (let i = 0; i < 2e5; i++) keep.push({ i, s: 'secret' + i });
            console.log('done'); 1
            """;
        const string probe = """
            ({ leaked: typeof leaked, polluted: ({}).polluted === undefined, push: [].push(1),
               random: Math.random() !== 0.5, found: JSON.stringify({ ok: true }) })
            """;
        var pids = new HashSet<int>();
        for (int i = 0; i < 3; i++)
        {
            var poisoned = await sandbox.RunAsync(new Submission { Code = poison });
            OutcomeAssert.Ok("1", poisoned);
            var seen = await sandbox.RunAsync(new Submission { Code = probe });
            OutcomeAssert.Ok("{\"leaked\":\"undefined\",\"polluted\":true,\"push\":1,\"random\":true,\"found\":\"{\\\"ok\\\":true}\"}", seen);
            // A probe that allocates must not find the poison's strings anywhere in what it can reach.
            var search = await sandbox.RunAsync(new Submission { Code = "Object.getOwnPropertyNames(globalThis).filter(k => String(k).includes('secret') || k === 'leaked').length" });
            OutcomeAssert.Ok("0", search);
        }
        Assert.Equal(1, sandbox.Statistics.WorkersStarted);
    }
}
