namespace Warden.Tests.Isolation;

/// <summary>
/// Attacks on the warm-isolate mode (<see cref="IsolationUnit.Context"/>, V8): executions of one isolation key run
/// one after another in fresh contexts of the same isolate, so whatever one execution could leave in the isolate is
/// a channel to the next — the same tenant's next request, but possibly another end user's data (issue 13). Each
/// test runs an execution A that plants something, then an execution B of the same key and memory limit that looks
/// for it or should be disturbed by it. Every test first proves that B really ran in A's warm isolate (the next
/// context number, the same worker process): a B that got a fresh isolate would prove nothing. B's result and console
/// are then compared with the same code run in a fresh isolate, besides the explicit expectations.
/// </summary>
[Collection("sandbox")]
public sealed class WarmContextLeakTests : IAsyncLifetime
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
        });
        await _sandbox.WarmUpAsync();
        _diedAtStart = Died();
    }

    public async Task DisposeAsync() => await _sandbox.DisposeAsync();

    private long Died() => _sandbox.Statistics.WorkersRetired.GetValueOrDefault("died");

    private Task<Outcome> RunAsync(string? key, string code, string? input = null, int? timeoutMs = null, int? memoryMb = null,
        bool module = false, IReadOnlyDictionary<string, string>? modules = null, IsolationUnit? unit = null) =>
        _sandbox.RunAsync(new Submission
        {
            Code = code,
            InputJson = input,
            IsModule = module,
            Modules = modules,
            IsolationKey = key,
            IsolationUnit = unit,
            Limits = new ExecutionLimits(TimeoutMs: timeoutMs, MemoryMb: memoryMb),
        });

    /// <summary>
    /// B's code in a fresh isolate of its own (nothing ever ran there before it) must give what B gave after A: the
    /// warm context is indistinguishable from a fresh isolate to the script.
    /// </summary>
    private async Task AssertAsInAFreshIsolateAsync(Outcome b, string code, string? input = null, bool module = false,
        IReadOnlyDictionary<string, string>? modules = null)
    {
        var fresh = await RunAsync("fresh-control", code, input, module: module, modules: modules, unit: IsolationUnit.Isolate);
        Assert.Equal(0, fresh.WarmContext);
        Assert.Equal(fresh.Status, b.Status);
        Assert.Equal(fresh.ResultJson, b.ResultJson);
        Assert.Equal(fresh.Console, b.Console);
    }

    /// <summary>After any attack the key's next execution, and the worker that ran it, behave normally.</summary>
    private async Task AssertHealthyAsync(string key)
    {
        var outcome = await RunAsync(key, "[typeof leaked, input.n * 2]", input: "{\"n\":21}");
        OutcomeAssert.Ok("[\"undefined\",42]", outcome);
        Assert.Empty(outcome.Console);
        Assert.Equal(_diedAtStart, Died());
    }

    private static void AssertNoConsoleFromA(Outcome b) =>
        Assert.DoesNotContain(b.Console, entry => entry.Text.Contains("A ", StringComparison.Ordinal) || entry.Text.StartsWith('A'));

    [Fact]
    public async Task GlobalsOfOneExecutionAreNotSeenByTheNext()
    {
        // Every kind of binding a script can make at its top level, and built-ins it deleted: the next execution
        // must get a global object of its own, not A's.
        const string key = "leak-globals";
        var a = await RunAsync(key, """
            var plantedVar = 'A';
            globalThis.plantedProp = 'A';
            self.plantedSelf = 'A';
            let plantedLet = 'A';
            const plantedConst = 'A';
            function plantedFunction() { return 'A'; }
            class PlantedClass {}
            Object.defineProperty(globalThis, 'plantedHidden', { value: 'A', enumerable: false, writable: false, configurable: false });
            delete globalThis.JSON; delete globalThis.Promise; delete globalThis.Map;
            [typeof plantedVar, typeof plantedProp, typeof plantedLet, typeof plantedFunction, typeof plantedHidden, typeof JSON]
            """);
        OutcomeAssert.Ok("[\"string\",\"string\",\"string\",\"function\",\"string\",\"undefined\"]", a);

        const string look = """
            let plantedLet = 'B'; const plantedConst = 'B'; class PlantedClass {}   // would throw if A's bindings were in scope
            [typeof plantedVar, typeof plantedProp, typeof plantedSelf, typeof plantedFunction, typeof plantedHidden,
             typeof JSON, typeof Promise, typeof Map,
             Object.getOwnPropertyNames(globalThis).filter(n => /planted/i.test(n)), plantedLet + plantedConst]
            """;
        var b = await RunAsync(key, look);
        OutcomeAssert.SameWarmIsolate(a, b);
        OutcomeAssert.Ok("""["undefined","undefined","undefined","undefined","undefined","object","function","function",[],"BB"]""", b);
        await AssertAsInAFreshIsolateAsync(b, look);
        await AssertHealthyAsync(key);
    }

    [Fact]
    public async Task KeylessExecutionsShareWarmIsolatesButNothingElse()
    {
        // Keyless executions of a sandbox form one isolation key, so they reuse warm isolates too — and they are
        // the likeliest to belong to different end users. The same guarantees hold.
        var a = await RunAsync(null, "globalThis.keylessSecret = input.s; Object.prototype.keyless = input.s; setTimeout(() => console.log(input.s), 5); 'A'",
            input: "{\"s\":\"keyless-secret\"}");
        OutcomeAssert.Ok("\"A\"", a);
        var b = await RunAsync(null, "new Promise(r => setTimeout(() => r([typeof keylessSecret, typeof ({}).keyless, input]), 50))");
        OutcomeAssert.SameWarmIsolate(a, b);
        OutcomeAssert.Ok("[\"undefined\",\"undefined\",null]", b);
        Assert.Empty(b.Console);
    }

    [Fact]
    public async Task PatchedBuiltInPrototypesAreNotSeenByTheNext()
    {
        // Prototype pollution is the classic way to act on code that runs later in the same realm: each of these
        // would change what B computes or run A's code inside B (a setter, a thenable, an iterator).
        const string key = "leak-prototypes";
        var a = await RunAsync(key, """
            Array.prototype.map = function () { return ['A-map']; };
            Object.defineProperty(Object.prototype, 'planted', {
              get() { return 'A-getter'; }, set(v) { console.log('A setter saw ' + v); }, configurable: true });
            JSON.stringify = () => '"A-json"';
            JSON.parse = () => 'A-parse';
            Promise.prototype.then = function () { console.log('A then ran'); };
            Function.prototype.toString = () => 'A-source';
            Array.prototype[Symbol.iterator] = function* () { yield 'A-iterated'; };
            Object.prototype.toString = () => '[object A]';
            String.prototype.toUpperCase = () => 'A-upper';
            Math.random = () => 0.4;
            Date.now = () => 4;
            Object.setPrototypeOf(Array.prototype, { fromA: true });
            Object.prototype.then = function (resolve) { console.log('A thenable ran'); resolve('A-then'); };
            const evidence = [[1].map(x => x), [...[1]][0], 'a'.toUpperCase(), [].fromA];
            delete Object.prototype.then;   // so that A's own (array) result is not a thenable
            evidence
            """);
        OutcomeAssert.Ok("""[["A-map"],"A-iterated","A-upper",true]""", a);

        const string look = """
            const out = {};
            out.map = [1, 2].map(x => x * 2);
            out.planted = typeof ({}).planted;
            const o = {}; o.planted = 'B';       // A's setter would log here
            out.json = JSON.stringify({ b: 1 });
            out.parse = JSON.parse('{"b":2}').b;
            out.fnSource = (function b() { return 1; }).toString();
            out.spread = [...[1, 2]];
            out.objectTag = Object.prototype.toString.call([]);
            out.upper = 'b'.toUpperCase();
            out.random = Math.random() !== 0.4;
            out.dateNow = Date.now() > 4;
            out.arrayProto = Object.getPrototypeOf(Array.prototype) === Object.prototype;
            out.thenable = typeof ({}).then;
            Promise.resolve(3).then(x => { out.then = x + 1; return out; })
            """;
        var b = await RunAsync(key, look);
        OutcomeAssert.SameWarmIsolate(a, b);
        OutcomeAssert.Ok("""
            {"map":[2,4],"planted":"undefined","json":"{\"b\":1}","parse":2,"fnSource":"function b() { return 1; }",
             "spread":[1,2],"objectTag":"[object Array]","upper":"B","random":true,"dateNow":true,"arrayProto":true,
             "thenable":"undefined","then":4}
            """, b);
        Assert.Empty(b.Console);
        await AssertAsInAFreshIsolateAsync(b, look);
        await AssertHealthyAsync(key);
    }

    [Fact]
    public async Task StackTraceHooksOfOneExecutionAreNotUsedByTheNext()
    {
        // Error.prepareStackTrace is V8's hook for formatting every stack: set by A and kept, it would run A's code
        // on each of B's errors (seeing B's frames, and B's error objects through CallSite) and forge B's stacks.
        const string key = "leak-stack-hooks";
        var a = await RunAsync(key, """
            Error.prepareStackTrace = (error, sites) => { console.log('A formatted a stack'); return 'A-stack'; };
            Error.captureStackTrace = (target) => { target.stack = 'A-captured'; console.log('A captured'); };
            Error.stackTraceLimit = 1;
            Error.prototype.toString = () => 'A-error';
            const e = {}; Error.captureStackTrace(e);
            [typeof Error.prepareStackTrace, e.stack, String(new Error('x'))]
            """);
        OutcomeAssert.Ok("""["function","A-captured","A-error"]""", a);

        const string look = """
            function thrower() { throw new Error('B boom'); }
            let stack; try { thrower(); } catch (e) { stack = e.stack; }
            const target = {}; Error.captureStackTrace(target);
            [typeof Error.prepareStackTrace, stack.includes('A-'), stack.includes('thrower'), Error.stackTraceLimit,
             typeof target.stack === 'string' && !target.stack.includes('A-'), String(new Error('m'))]
            """;
        var b = await RunAsync(key, look);
        OutcomeAssert.SameWarmIsolate(a, b);
        OutcomeAssert.Ok("""["undefined",false,true,10,true,"Error: m"]""", b);
        Assert.Empty(b.Console);
        await AssertAsInAFreshIsolateAsync(b, look);

        // An error B does not catch is described by Warden inside B's context: with B's hooks, not A's.
        var c = await RunAsync(key, "function thrower() { throw new Error('C boom ' + typeof Error.prepareStackTrace); }\nthrower()");
        OutcomeAssert.SameWarmIsolate(a, c, contextsBetween: 2);
        var error = OutcomeAssert.Failed(OutcomeStatus.ScriptError, "Error", c);
        Assert.Equal("C boom undefined", error.Message);
        Assert.Contains("thrower", error.Stack);
        Assert.DoesNotContain("A-", error.Stack);
        Assert.Empty(c.Console);
        await AssertHealthyAsync(key);
    }

    [Fact]
    public async Task TimersAnExecutionLeavesBehindNeverFireInTheNext()
    {
        // A's result settles at once and its timers are still pending: had they moved to the isolate, they would
        // log into B's console, throw into B (B failing with A's error), or spin and make B time out.
        const string key = "leak-timers";
        var a = await RunAsync(key, """
            const spin = () => { const end = Date.now() + 3000; while (Date.now() < end) {} };
            setTimeout(() => { console.log('A timeout fired'); spin(); }, 20);
            setInterval(() => { console.log('A interval fired'); }, 1);
            setTimeout('console.log("A string timer fired")', 10);
            setTimeout(() => { throw new Error('A late throw'); }, 30);
            'A left timers behind'
            """);
        OutcomeAssert.Ok("\"A left timers behind\"", a);
        Assert.Empty(a.Console);

        // B's own first timer id shows its event loop is fresh too.
        const string look = """
            const first = setTimeout(() => {}, 0);
            new Promise(resolve => setTimeout(() => { console.log('B timer'); resolve(first); }, 300));
            """;
        var b = await RunAsync(key, look);
        OutcomeAssert.SameWarmIsolate(a, b);
        OutcomeAssert.Status(OutcomeStatus.Ok, b);
        Assert.Equal([new ConsoleEntry("log", "B timer")], b.Console);
        Assert.True(b.Usage.WallMs < 2000, $"B took {b.Usage.WallMs} ms");
        await AssertAsInAFreshIsolateAsync(b, look);
        await AssertHealthyAsync(key);
    }

    [Fact]
    public async Task PromisesAnExecutionLeavesUnsettledCannotActInTheNext()
    {
        // V8's microtask queue belongs to the isolate, not the context. A leaves promise reactions waiting on a
        // timer, a rejection, and a dynamic import() whose refusal might arrive late (the loader's asynchronous
        // path): run during B, they would log into B or, running late, spin and make B time out.
        const string key = "leak-promises";
        var a = await RunAsync(key, """
            const t0 = Date.now();
            const late = (what) => {
              console.log('A ' + what);
              if (Date.now() - t0 > 200) { const end = Date.now() + 3000; while (Date.now() < end) {} }
            };
            let release;
            globalThis.pending = new Promise(r => { release = r; });
            pending.then(v => late('promise settled with ' + v));
            (async () => { await pending; late('async function resumed'); })();
            setTimeout(() => release('late'), 20);
            new Promise((_, reject) => setTimeout(() => reject(new Error('A late rejection')), 20));
            import('./missing.js').then(() => late('import resolved'), () => late('import rejected'));
            queueMicrotask(() => console.log('A microtask'));
            'A left promises behind'
            """);
        OutcomeAssert.Status(OutcomeStatus.Ok, a);
        // A's own microtasks did run, in A.
        Assert.Contains(new ConsoleEntry("log", "A microtask"), a.Console);

        const string look = """
            new Promise(resolve => setTimeout(() => { console.log('B done waiting'); resolve(typeof pending); }, 300))
            """;
        var b = await RunAsync(key, look);
        OutcomeAssert.SameWarmIsolate(a, b);
        OutcomeAssert.Ok("\"undefined\"", b);
        Assert.Equal([new ConsoleEntry("log", "B done waiting")], b.Console);
        Assert.True(b.Usage.WallMs < 2000, $"B took {b.Usage.WallMs} ms");
        await AssertAsInAFreshIsolateAsync(b, look);
        await AssertHealthyAsync(key);
    }

    [Fact]
    public async Task FinalizationCallbacksOfOneExecutionNeverRunInTheNext()
    {
        // V8 runs FinalizationRegistry cleanups as tasks of the isolate, whenever a collection found the targets
        // dead: A's registries, reached however A could (the global, a subclass, the prototype's constructor),
        // with targets that die only once B's allocations force collections. A's callback must never log into B
        // nor run (it would spin and make B time out). B's own registry firing proves the collections happened.
        const string key = "leak-finalization";
        var a = await RunAsync(key, """
            const t0 = Date.now();
            const late = (what) => {
              console.log('A ' + what);
              if (Date.now() - t0 > 200) { const end = Date.now() + 3000; while (Date.now() < end) {} }
            };
            const registry = new FinalizationRegistry(h => late('cleanup ' + h));
            class Sub extends FinalizationRegistry {}
            const sub = new Sub(h => late('subclass cleanup ' + h));
            const ViaPrototype = Object.getPrototypeOf(registry).constructor;
            const viaPrototype = new ViaPrototype(h => late('prototype constructor cleanup ' + h));
            for (let i = 0; i < 2000; i++) {
              registry.register({ i, pad: new Array(50).fill(i) }, i);
              sub.register({ i }, i);
              viaPrototype.register({ i }, i);
            }
            globalThis.refs = [];
            for (let i = 0; i < 100; i++) refs.push(new WeakRef({ i }));
            globalThis.keepRegistries = [registry, sub, viaPrototype];
            'A registered'
            """);
        OutcomeAssert.Ok("\"A registered\"", a);

        const string look = """
            let mine = 0;
            const registry = new FinalizationRegistry(() => { mine++; });
            for (let i = 0; i < 1000; i++) registry.register({ i }, i);
            (async () => {
              for (let round = 0; round < 40 && mine === 0; round++) {
                let junk = [];
                for (let i = 0; i < 2000; i++) junk.push(new Array(100).fill(round));
                junk = null;
                // Resizable buffers past an eighth of the budget make the prelude force a full collection
                // (memory-guards.js): the collection that finds old targets dead.
                for (let i = 0; i < 40; i++) new ArrayBuffer(1 << 20, { maxByteLength: 1 << 20 });
                await new Promise(r => setTimeout(r, 20));
              }
              console.log('B collected ' + (mine > 0));
              return [mine > 0, typeof refs, typeof keepRegistries];
            })()
            """;
        var b = await RunAsync(key, look);
        OutcomeAssert.SameWarmIsolate(a, b);
        OutcomeAssert.Ok("[true,\"undefined\",\"undefined\"]", b);
        Assert.Equal([new ConsoleEntry("log", "B collected true")], b.Console);
        Assert.True(b.Usage.WallMs < 2500, $"B took {b.Usage.WallMs} ms");
        await AssertHealthyAsync(key);
    }

    [Fact]
    public async Task ModulesAreInstantiatedAfreshForEachExecution()
    {
        // A module instance holds state (its bindings, objects it exports). Were module records cached per isolate
        // under their name or source, B importing the same name would get A's evaluated instance: A's count, A's
        // data — and A's code would not even run again for B.
        const string key = "leak-modules";
        var modules = new Dictionary<string, string>
        {
            ["counter.js"] = "export let count = 0;\nexport const log = [];\nexport function bump(who) { count++; log.push(who); globalThis.fromModule = who; return count; }\n",
        };
        const string entry = """
            import { bump, log } from './counter.js';
            const n = bump(input.who);
            export default () => ({ n, log: [...log], mine: globalThis.fromModule });
            """;
        var a = await RunAsync(key, entry, input: "{\"who\":\"A-secret\"}", module: true, modules: modules);
        OutcomeAssert.Ok("""{"n":1,"log":["A-secret"],"mine":"A-secret"}""", a);

        // The same sources, word for word: the likeliest to hit any cache.
        var b = await RunAsync(key, entry, input: "{\"who\":\"B\"}", module: true, modules: modules);
        OutcomeAssert.SameWarmIsolate(a, b);
        OutcomeAssert.Ok("""{"n":1,"log":["B"],"mine":"B"}""", b);

        // Another entry importing the same module name: it must see the module's initial state.
        const string look = """
            import { count, log } from './counter.js';
            export default () => [count, log.length, typeof globalThis.fromModule];
            """;
        var c = await RunAsync(key, look, module: true, modules: modules);
        OutcomeAssert.SameWarmIsolate(a, c, contextsBetween: 2);
        OutcomeAssert.Ok("[0,0,\"undefined\"]", c);
        Assert.DoesNotContain("A-secret", c.ResultJson);
        await AssertAsInAFreshIsolateAsync(c, look, module: true, modules: modules);
        await AssertHealthyAsync(key);
    }

    [Fact]
    public async Task RegisteredSymbolsCarryNoValuesToTheNext()
    {
        // The symbol registry is the isolate's (Symbol.for gives B the very symbol A got), so it is the one
        // shared name space a script can write to. A symbol is a primitive: used as a key, the value lives on
        // A's objects. B must find nothing under it, and A's patches to Symbol itself must be gone.
        const string key = "leak-symbols";
        var a = await RunAsync(key, """
            const key = Symbol.for('warden.planted');
            globalThis[key] = 'A-global';
            Array.prototype[key] = 'A-array';
            Object.prototype[Symbol.for('warden.proto')] = 'A-object';
            Object.defineProperty(Symbol.prototype, 'description', { get() { return 'A-description'; }, configurable: true });
            Symbol.prototype.toString = () => 'A-symbol';
            Symbol.for = () => Symbol('A-for');
            Symbol.keyFor = () => 'A-key';
            [globalThis[key], [][key], key.description]
            """);
        OutcomeAssert.Ok("[\"A-global\",\"A-array\",\"A-description\"]", a);

        const string look = """
            const key = Symbol.for('warden.planted');
            [typeof globalThis[key], typeof [][key], typeof ({})[Symbol.for('warden.proto')], Symbol.keyFor(key),
             key.description, key.toString(), key === Symbol.for('warden.planted'),
             Object.getOwnPropertySymbols(globalThis).map(String), Object.getOwnPropertySymbols(Array.prototype).map(String)]
            """;
        var b = await RunAsync(key, look);
        OutcomeAssert.SameWarmIsolate(a, b);
        OutcomeAssert.Status(OutcomeStatus.Ok, b);
        Assert.StartsWith("""["undefined","undefined","undefined","warden.planted","warden.planted","Symbol(warden.planted)",true,""", b.ResultJson);
        Assert.DoesNotContain("A-", b.ResultJson);
        await AssertAsInAFreshIsolateAsync(b, look);
        await AssertHealthyAsync(key);
    }

    [Fact]
    public async Task SharedMemoryIsOfferedToNeitherExecution()
    {
        // SharedArrayBuffer and Atomics are off by default (Atomics.wait blocks the thread; waitAsync resolves from
        // a platform task, i.e. later, possibly during the next execution). A cannot re-offer them to B.
        const string key = "leak-shared-memory";
        var a = await RunAsync(key, """
            const found = [typeof SharedArrayBuffer, typeof Atomics, typeof WebAssembly];
            globalThis.SharedArrayBuffer = function FakeShared() {};
            globalThis.Atomics = { wait() { console.log('A atomics'); } };
            found
            """);
        OutcomeAssert.Ok("[\"undefined\",\"undefined\",\"undefined\"]", a);

        var b = await RunAsync(key, "[typeof SharedArrayBuffer, typeof Atomics, typeof WebAssembly]");
        OutcomeAssert.SameWarmIsolate(a, b);
        OutcomeAssert.Ok("[\"undefined\",\"undefined\",\"undefined\"]", b);
        await AssertHealthyAsync(key);
    }

    [Fact]
    public async Task PatchedWebApisAreNotSeenByTheNext()
    {
        // The web APIs' bundle is compiled once per warm isolate and evaluated in each context: its classes and
        // their prototypes must still be per context, or A could forge B's URLs, encodings, random values (key
        // material) and clones, or run its code when B dispatches an event.
        const string key = "leak-web-apis";
        var a = await RunAsync(key, """
            URL.prototype.toString = () => 'A-url';
            Object.defineProperty(URL.prototype, 'href', { get() { return 'A-href'; }, configurable: true });
            URLSearchParams.prototype.get = () => 'A-param';
            TextEncoder.prototype.encode = () => new Uint8Array([65]);
            TextDecoder.prototype.decode = () => 'A-decoded';
            crypto.getRandomValues = (array) => array.fill(7);
            crypto.randomUUID = () => 'A-uuid';
            Crypto.prototype.getRandomValues = (array) => array.fill(7);
            globalThis.structuredClone = () => 'A-clone';
            globalThis.atob = () => 'A-atob';
            performance.now = () => -1;
            if (typeof performance.mark === 'function') performance.mark('A-mark');
            EventTarget.prototype.dispatchEvent = () => { console.log('A dispatch'); return false; };
            try { Object.defineProperty(navigator, 'userAgent', { value: 'A-agent' }); } catch {}
            [new URL('https://a.test/').href, crypto.randomUUID(), structuredClone(1)]
            """);
        OutcomeAssert.Ok("[\"A-href\",\"A-uuid\",\"A-clone\"]", a);

        const string look = """
            const u = new URL('https://b.test/path?q=1');
            const target = new EventTarget(); let heard = false;
            target.addEventListener('x', () => { heard = true; });
            target.dispatchEvent(new Event('x'));
            const bytes = crypto.getRandomValues(new Uint8Array(16));
            const uuid = crypto.randomUUID();
            [u.href, String(u), u.searchParams.get('q'), new TextEncoder().encode('héllo').length,
             new TextDecoder().decode(new Uint8Array([104, 105])), bytes.some(x => x !== 7), uuid !== 'A-uuid' && uuid.length,
             structuredClone({ n: 1 }).n, atob('Qg=='), performance.now() >= 0,
             typeof performance.getEntriesByName === 'function' ? performance.getEntriesByName('A-mark').length : 'no entries',
             heard, navigator.userAgent.startsWith('Warden/')]
            """;
        var b = await RunAsync(key, look);
        OutcomeAssert.SameWarmIsolate(a, b);
        OutcomeAssert.Status(OutcomeStatus.Ok, b);
        Assert.StartsWith("""["https://b.test/path?q=1","https://b.test/path?q=1","1",6,"hi",true,36,1,"B",true,""", b.ResultJson);
        Assert.EndsWith(",true,true]", b.ResultJson);
        Assert.DoesNotContain("A-", b.ResultJson);
        Assert.Empty(b.Console);
        await AssertAsInAFreshIsolateAsync(b, look);
        await AssertHealthyAsync(key);
    }

    [Fact]
    public async Task APatchedConsoleIsNotTheNextExecutionsConsole()
    {
        // A console A replaced would swallow, rewrite or read B's logs.
        const string key = "leak-console";
        var a = await RunAsync(key, """
            const original = console.log;
            console.log = () => {};
            console.error = (...args) => original('A hijacked: ' + args.join(' '));
            Object.defineProperty(console, 'warn', { value: () => {}, writable: false, configurable: false });
            Object.freeze(console);
            globalThis.console = { log() {}, info() {} };
            'A patched console'
            """);
        OutcomeAssert.Ok("\"A patched console\"", a);

        const string look = "console.log('B log'); console.error('B error'); console.warn('B warn'); console.info('B info'); 'B'";
        var b = await RunAsync(key, look);
        OutcomeAssert.SameWarmIsolate(a, b);
        OutcomeAssert.Ok("\"B\"", b);
        Assert.Equal(["B log", "B error", "B warn", "B info"], b.Console.Select(e => e.Text));
        AssertNoConsoleFromA(b);
        await AssertAsInAFreshIsolateAsync(b, look);
        await AssertHealthyAsync(key);
    }

    [Fact]
    public async Task OneExecutionsInputIsNeverReadableInTheNext()
    {
        // The input is the end user's data: in a warm isolate, the next request of the same key may be another
        // user's. A copies its input everywhere it can think of; B, given no input, searches for it.
        const string key = "leak-input";
        string secret = "secret-" + Guid.NewGuid().ToString("N");
        var a = await RunAsync(key, """
            globalThis.copy = input;
            Object.prototype.stash = input.secret;
            Array.prototype.stash = input.secret;
            globalThis[Symbol.for('stash')] = input.secret;
            Symbol.for(input.secret);
            setTimeout(() => console.log(input.secret), 10);
            Promise.resolve().then(() => new Promise(r => setTimeout(r, 20))).then(() => console.log(input.secret));
            input.secret.length
            """, input: $"{{\"secret\":\"{secret}\"}}");
        OutcomeAssert.Ok(secret.Length.ToString(), a);

        var b = await RunAsync(key, """
            const seen = [];
            for (const name of Object.getOwnPropertyNames(globalThis)) {
              let value;
              try { value = globalThis[name]; } catch { continue; }
              if (value === globalThis || typeof value === 'function') continue;
              try { seen.push(name + '=' + JSON.stringify(value)); } catch {}
            }
            new Promise(resolve => setTimeout(() => resolve([input, typeof copy, ({}).stash ?? null, [].stash ?? null,
              globalThis[Symbol.for('stash')] ?? null, seen.join('\n')]), 100))
            """);
        OutcomeAssert.SameWarmIsolate(a, b);
        OutcomeAssert.Status(OutcomeStatus.Ok, b);
        Assert.StartsWith("[null,\"undefined\",null,null,null,", b.ResultJson);
        Assert.DoesNotContain(secret, b.ResultJson);
        Assert.DoesNotContain(b.Console, entry => entry.Text.Contains(secret, StringComparison.Ordinal));
        Assert.Empty(b.Console);
        await AssertHealthyAsync(key);
    }

    [Fact]
    public async Task RegExpStaticsOfOneExecutionAreNotTheNexts()
    {
        // RegExp.$1, lastMatch and input ($_) are legacy statics that remember the last match: were they the
        // isolate's rather than the context's, B would read the part of A's input A last matched.
        const string key = "leak-regexp-statics";
        string secret = "secret-" + Guid.NewGuid().ToString("N");
        var a = await RunAsync(key, "/(secret-\\w+)/.exec(input.text); [RegExp.$1 === input.secret, RegExp.lastMatch.length]",
            input: $"{{\"text\":\"the key is {secret}.\",\"secret\":\"{secret}\"}}");
        OutcomeAssert.Ok($"[true,{secret.Length}]", a);

        const string look = "[RegExp.$1, RegExp.lastMatch, RegExp.input, RegExp.leftContext, RegExp.rightContext, RegExp.lastParen]";
        var b = await RunAsync(key, look);
        OutcomeAssert.SameWarmIsolate(a, b);
        OutcomeAssert.Ok("[\"\",\"\",\"\",\"\",\"\",\"\"]", b);
        await AssertAsInAFreshIsolateAsync(b, look);
        await AssertHealthyAsync(key);
    }

    [Fact]
    public async Task MemoryOneExecutionFreedIsZeroWhenTheNextAllocatesIt()
    {
        // Array buffers live outside V8's heap, in memory the isolate's allocator hands out again once A's buffers
        // are collected: B's new buffers (plain, resizable grown, transferred to a larger length) must be all
        // zeros, never A's bytes.
        const string key = "leak-buffer-memory";
        var a = await RunAsync(key, """
            let filled = 0;
            for (let i = 0; i < 48; i++) { new Uint8Array(1 << 20).fill(0xA5); filled++; }
            const resizable = new ArrayBuffer(1 << 20, { maxByteLength: 4 << 20 });
            new Uint8Array(resizable).fill(0xA5);
            resizable.resize(4 << 20); new Uint8Array(resizable).fill(0xA5); resizable.resize(16);
            globalThis.kept = resizable;
            filled
            """);
        OutcomeAssert.Ok("48", a);

        var b = await RunAsync(key, """
            const nonZero = (buffer) => { const words = new Uint32Array(buffer, 0, buffer.byteLength >> 2); for (let i = 0; i < words.length; i++) if (words[i] !== 0) return true; return false; };
            let dirty = 0, checked = 0;
            for (let i = 0; i < 96; i++) { if (nonZero(new ArrayBuffer(1 << 20))) dirty++; checked++; }
            const resizable = new ArrayBuffer(16, { maxByteLength: 4 << 20 });
            resizable.resize(4 << 20);
            if (nonZero(resizable)) dirty++;
            const longer = new ArrayBuffer(1 << 20).transfer(4 << 20);
            if (nonZero(longer)) dirty++;
            [dirty, checked]
            """);
        OutcomeAssert.SameWarmIsolate(a, b);
        OutcomeAssert.Ok("[0,96]", b);
        await AssertHealthyAsync(key);
    }

    [Fact]
    public async Task TheNextExecutionHasItsWholeConsoleBudget()
    {
        // The console's budget is counted by the prelude of each context and by the worker's recorder, which every
        // execution of the worker shares: A using nearly all of it must not cut B's console short.
        const string key = "leak-console-budget";
        const string fill = "for (let i = 0; i < 900; i++) console.log('x'.repeat(1000)); 'done'";
        var a = await RunAsync(key, fill);
        OutcomeAssert.Ok("\"done\"", a);
        Assert.Equal(900, a.Console.Count);

        var b = await RunAsync(key, fill);
        OutcomeAssert.SameWarmIsolate(a, b);
        OutcomeAssert.Ok("\"done\"", b);
        Assert.Equal(900, b.Console.Count);
        await AssertHealthyAsync(key);
    }

    [Fact]
    public async Task AnExecutionThatFailedWithAScriptErrorLeavesNothingEither()
    {
        // A script error keeps the warm isolate (it is the script's own outcome, not a limit): A plants, leaves
        // timers and then throws; B, in the same isolate, must find nothing of it.
        const string key = "leak-after-script-error";
        var a = await RunAsync(key, """
            globalThis.planted = 'A';
            Object.prototype.pollutedByA = true;
            setTimeout(() => console.log('A timer after its error'), 10);
            Promise.resolve().then(() => new Promise(r => setTimeout(r, 20))).then(() => console.log('A chain after its error'));
            throw new Error('A fails on purpose');
            """);
        OutcomeAssert.Failed(OutcomeStatus.ScriptError, "Error", a);

        var b = await RunAsync(key, "new Promise(r => setTimeout(() => r([typeof planted, typeof ({}).pollutedByA]), 100))");
        OutcomeAssert.SameWarmIsolate(a, b);
        OutcomeAssert.Ok("[\"undefined\",\"undefined\"]", b);
        Assert.Empty(b.Console);
        await AssertHealthyAsync(key);
    }

    [Fact]
    public async Task AnExecutionInterruptedWhileHoldingStateLeavesTheNextAFreshIsolate()
    {
        // A limit stops a script anywhere, its isolate in any state (a half-run microtask, pending timers): the
        // isolate is dropped, so the next execution gets a new one in the same worker, and nothing of A.
        const string key = "leak-interrupted";
        string secret = "secret-" + Guid.NewGuid().ToString("N");
        var warmUp = await RunAsync(key, "1");
        var a = await RunAsync(key, """
            globalThis.state = input.secret;
            Object.prototype.leak = input.secret;
            setTimeout(() => console.log('A timer ' + input.secret), 10);
            Promise.resolve().then(() => { globalThis.later = input.secret; });
            while (true) {}
            """, input: $"{{\"secret\":\"{secret}\"}}", timeoutMs: 300);
        OutcomeAssert.Failed(OutcomeStatus.Timeout, "TimeoutError", a);
        Assert.Equal(warmUp.WarmContext + 1, a.WarmContext);

        var b = await RunAsync(key, "new Promise(r => setTimeout(() => r([typeof state, typeof ({}).leak, typeof later]), 100))");
        Assert.Equal(1, b.WarmContext);
        Assert.Equal(a.WorkerPid, b.WorkerPid);
        OutcomeAssert.Ok("[\"undefined\",\"undefined\",\"undefined\"]", b);
        Assert.Empty(b.Console);

        // Stopped inside a microtask this time: V8's queue, which the isolate's contexts share, was mid-drain.
        var c = await RunAsync(key, "Promise.resolve().then(() => { globalThis.stuck = 1; for (;;) {} }); 'C settled first'", timeoutMs: 300);
        Assert.Equal(2, c.WarmContext);
        Assert.True(c.Status == OutcomeStatus.Timeout, c.ToJson());
        var d = await RunAsync(key, "new Promise(r => setTimeout(() => r(typeof stuck), 50))");
        Assert.Equal(1, d.WarmContext);
        Assert.Equal(a.WorkerPid, d.WorkerPid);
        OutcomeAssert.Ok("\"undefined\"", d);

        // Stopped inside one of several queued jobs: the others must never run, neither later in A's isolate
        // while the worker tears it down (outside any watchdog: the worker would hang) nor in E.
        var stopped = await RunAsync(key, """
            const spin = () => { for (;;) {} };
            Promise.resolve().then(spin); Promise.resolve().then(spin); Promise.resolve().then(() => console.log('A third job'));
            'settled first'
            """, timeoutMs: 300);
        Assert.True(stopped.Status == OutcomeStatus.Timeout, stopped.ToJson());
        var e = await RunAsync(key, "'E'", timeoutMs: 2000);
        OutcomeAssert.Ok("\"E\"", e);
        Assert.Equal(1, e.WarmContext);
        Assert.Equal(a.WorkerPid, e.WorkerPid);
        Assert.Empty(e.Console);
        await AssertHealthyAsync(key);
    }

    [Fact]
    public async Task AnEndlessMicrotaskChainCannotSlowTheNext()
    {
        // A settles its result and leaves a chain of jobs that re-queue themselves: V8 drains the (shared) queue at
        // the end of A's entry, inside A's watchdog, so A is the one that times out and its isolate goes; B starts
        // in a new isolate and runs at full speed.
        const string key = "slow-microtasks";
        var a = await RunAsync(key, "function again() { Promise.resolve().then(again); }\nagain();\n(async () => { for (;;) await null; })();\n'A returned'", timeoutMs: 500);
        Assert.True(a.Status == OutcomeStatus.Timeout, a.ToJson());
        Assert.True(a.WarmContext >= 1);

        var b = await RunAsync(key, "let s = 0; for (let i = 0; i < 1e6; i++) s += i; s");
        Assert.Equal(1, b.WarmContext);
        Assert.Equal(a.WorkerPid, b.WorkerPid);
        OutcomeAssert.Ok("499999500000", b);
        Assert.True(b.Usage.WallMs < 1000, $"B took {b.Usage.WallMs} ms");
        await AssertHealthyAsync(key);
    }

    [Fact]
    public async Task WhatAnExecutionLeftReachableDoesNotCountAgainstTheNextsBudget()
    {
        // A ends well within its limits but leaves 28 MB reachable from its global object. Once A's context is
        // disposed that must be garbage: B, in the same warm isolate, must get its whole budget (110 of 128 MB,
        // which a fresh isolate gives it). Found failing: .NET's handles to the prelude's functions kept A's
        // context alive until the .NET collector ran, and B hit the heap limit (fixed in V8Instance: Hold).
        const string key = "slow-left-reachable";
        const string large = "const c = []; for (let i = 0; i < 110; i++) c.push(new Array(131072).fill(i + 0.5)); [c.length, typeof big]";
        var a = await RunAsync(key, "globalThis.big = []; for (let i = 0; i < 28; i++) big.push(new Array(131072).fill(i + 0.5)); big.length");
        OutcomeAssert.Ok("28", a);

        var b = await RunAsync(key, large);
        OutcomeAssert.SameWarmIsolate(a, b);
        OutcomeAssert.Ok("[110,\"undefined\"]", b);
        Assert.True(b.Usage.WallMs < 3000, $"B took {b.Usage.WallMs} ms");

        // 40 MB left reachable passes the point where the worker looks (a quarter of the budget) and collects:
        // with A's context collectable nothing is left, so the isolate is kept, not dropped for growth.
        var c = await RunAsync(key, "globalThis.big = []; for (let i = 0; i < 40; i++) big.push(new Array(131072).fill(i + 0.5)); big.length");
        OutcomeAssert.Ok("40", c);
        var d = await RunAsync(key, "typeof big");
        Assert.Equal(c.WarmContext + 1, d.WarmContext);
        Assert.Equal(c.WorkerPid, d.WorkerPid);
        OutcomeAssert.Ok("\"undefined\"", d);
        await AssertHealthyAsync(key);
    }

    [Fact]
    public async Task AnExecutionThatFilledMostOfItsBudgetLeavesTheNextAFreshIsolate()
    {
        // Past 64 MB above the isolate's baseline (WarmIsolateKeeper.LargeExecutionBytes) the isolate goes, as a
        // fresh one's would: V8 keeps pages it committed, and B must not inherit them.
        const string key = "slow-large-execution";
        var a = await RunAsync(key, """
            globalThis.chunks = [];
            for (let i = 0; i < 90; i++) chunks.push(new Array(131072).fill(i + 0.5));
            chunks.length
            """);
        OutcomeAssert.Ok("90", a);

        var b = await RunAsync(key, """
            const chunks = [];
            for (let i = 0; i < 80; i++) chunks.push(new Array(131072).fill(i + 0.5));
            [chunks.length, typeof globalThis.chunks]
            """);
        Assert.Equal(1, b.WarmContext);
        Assert.Equal(a.WorkerPid, b.WorkerPid);
        OutcomeAssert.Ok("[80,\"undefined\"]", b);
        await AssertHealthyAsync(key);
    }

    [Fact]
    public async Task WithWebAssemblyOrSharedMemoryOfferedTheWarmModeIsRefusedAndFreshIsolatesContainLateReactions()
    {
        // WebAssembly.compile/instantiate and Atomics.waitAsync settle promises from V8 tasks, after the execution
        // that started them ended, whenever the isolate is next entered. In a warm isolate A's reactions ran inside
        // B (measured before the worker stopped offering warm isolates with these features): a late console.log
        // crashed the worker (SIGSEGV: ClearScript had freed the context's host objects, a use after free), and a
        // late spin made B take 2.5 s. So the warm mode is refused with either feature (the worker would also
        // fall back to fresh isolates), and in a fresh isolate A's reactions die with A's isolate.
        Assert.NotEmpty(new SandboxOptions { IsolationUnit = IsolationUnit.Context, EnableWebAssembly = true, EnableSharedMemory = true }.Validate());
        await using var sandbox = new Sandbox(new SandboxOptions
        {
            MaxWorkers = 1,
            SpareWorkers = 0,
            EnableWebAssembly = true,
            EnableSharedMemory = true,
        });
        await sandbox.WarmUpAsync();
        Task<Outcome> Run(string code) => sandbox.RunAsync(new Submission { Code = code, IsolationKey = "opt-in-features" });

        var a = await Run("""
            const t0 = Date.now();
            const late = (what) => {
              if (Date.now() - t0 < 200) return;      // only once A is over
              console.log('A ' + what);
              import('./late.js').catch(() => {});
              const end = Date.now() + 3000; while (Date.now() < end) {}
            };
            const i32 = new Int32Array(new SharedArrayBuffer(4));
            Atomics.waitAsync(i32, 0, 0, 100).value.then(() => late('waitAsync'));
            function leb(n) { const out = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; out.push(b); } while (n); return out; }
            function wasmModule(count) {   // `count` functions returning 42: big enough to compile in the background
              const type = [0x01, ...leb(5), 1, 0x60, 0, 1, 0x7f];
              const funcs = [0x03, ...leb(count + leb(count).length), ...leb(count), ...new Array(count).fill(0)];
              const body = [0x00, 0x41, 0x2a, 0x0b];
              const bodies = []; for (let i = 0; i < count; i++) bodies.push(body.length, ...body);
              const codeContent = [...leb(count), ...bodies];
              return new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...type, ...funcs, 0x0a, ...leb(codeContent.length), ...codeContent]);
            }
            const bytes = wasmModule(20000);
            WebAssembly.compile(bytes).then(() => late('compiled'), () => late('compile failed'));
            WebAssembly.instantiate(bytes).then(() => late('instantiated'), () => late('instantiate failed'));
            [typeof SharedArrayBuffer, typeof WebAssembly]
            """);
        OutcomeAssert.Ok("[\"function\",\"object\"]", a);
        Assert.Equal(0, a.WarmContext);

        var b = await Run("new Promise(r => setTimeout(() => r('B'), 500))");
        OutcomeAssert.Ok("\"B\"", b);
        Assert.Equal(0, b.WarmContext);
        Assert.Equal(a.WorkerPid, b.WorkerPid);
        Assert.Empty(b.Console);
        Assert.True(b.Usage.WallMs < 1500, $"B took {b.Usage.WallMs} ms");
        OutcomeAssert.Ok("3", await Run("1 + 2"));
        var statistics = sandbox.Statistics;
        Assert.Equal(0, statistics.WarmIsolatesMade);
        Assert.Equal(0, statistics.WorkersRetired.GetValueOrDefault("died"));
    }
}
