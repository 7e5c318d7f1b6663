using System.Diagnostics;
using System.Text.Json;

namespace Warden.Tests.Isolation;

/// <summary>
/// What a script can see on its global object, checked whole: every own name and symbol of the
/// global and of each object on its prototype chain, against the ECMAScript globals of this V8 and
/// the web globals docs/web-apis.md lists. Nothing else may appear but ClearScript's EngineInternal,
/// which ClearScript 7.5.1.1 defines non-configurable before any Warden code runs (asserted below).
/// </summary>
[Collection("sandbox")]
public sealed class GlobalSurfaceTests(SandboxFixture fx, Xunit.Abstractions.ITestOutputHelper log)
{
    /// <summary>ECMA-262 (with Annex B's escape/unescape) and ECMA-402 globals of the embedded V8.</summary>
    private static readonly string[] EcmaScriptGlobals =
    [
        "Object", "Function", "Array", "Number", "parseFloat", "parseInt", "Infinity", "NaN", "undefined", "Boolean",
        "String", "Symbol", "Date", "Promise", "RegExp", "Error", "AggregateError", "EvalError", "RangeError",
        "ReferenceError", "SyntaxError", "TypeError", "URIError", "SuppressedError", "globalThis", "JSON", "Math", "Intl",
        "ArrayBuffer", "Uint8Array", "Int8Array", "Uint16Array", "Int16Array", "Uint32Array", "Int32Array", "Float16Array",
        "Float32Array", "Float64Array", "BigUint64Array", "BigInt64Array", "Uint8ClampedArray", "DataView", "Map", "BigInt",
        "Set", "Iterator", "WeakMap", "WeakSet", "Proxy", "Reflect", "FinalizationRegistry", "WeakRef", "DisposableStack",
        "AsyncDisposableStack", "decodeURI", "decodeURIComponent", "encodeURI", "encodeURIComponent", "escape", "unescape",
        "eval", "isFinite", "isNaN",
    ];

    /// <summary>Every global of docs/web-apis.md's table, and `input`.</summary>
    private static readonly string[] WebGlobals =
    [
        "console", "setTimeout", "setInterval", "clearTimeout", "clearInterval", "queueMicrotask", "structuredClone",
        "DOMException", "atob", "btoa", "TextEncoder", "TextDecoder", "URL", "URLSearchParams", "EventTarget", "Event",
        "AbortController", "AbortSignal", "Blob", "crypto", "Crypto", "performance", "Performance", "navigator", "self", "input",
    ];

    /// <summary>Object.prototype's own keys (ECMA-262 with Annex B's accessors).</summary>
    private static readonly string[] ObjectPrototypeKeys =
    [
        "constructor", "__defineGetter__", "__defineSetter__", "hasOwnProperty", "__lookupGetter__", "__lookupSetter__",
        "isPrototypeOf", "propertyIsEnumerable", "toString", "valueOf", "__proto__", "toLocaleString",
    ];

    /// <summary>The one name that is neither: ClearScript's, see Prelude.js section 1 and docs/threat-model.md.</summary>
    private const string ClearScriptHelper = "EngineInternal";

    // Walks the global and its prototype chain; symbols are written as Symbol(description).
    private const string Walk = """
        const walk = () => {
          const chain = [];
          for (let o = globalThis; o !== null; o = Object.getPrototypeOf(o)) {
            chain.push(Reflect.ownKeys(o).map(k => typeof k === 'symbol' ? k.toString() : k));
          }
          // V8's global template object in between: its one key must be the standard Object.
          chain.push([String(Object.getPrototypeOf(globalThis).constructor === Object)]);
          return chain;
        };
        """;

    private const string TouchEveryWebApi = """
        for (const name of ['TextEncoder', 'TextDecoder', 'structuredClone', 'atob', 'btoa', 'DOMException', 'Event',
          'EventTarget', 'AbortController', 'AbortSignal', 'Blob', 'URL', 'URLSearchParams', 'Crypto', 'crypto',
          'Performance', 'performance', 'navigator']) void globalThis[name];
        new TextDecoder().decode(new TextEncoder().encode('é'));
        structuredClone(new Map([[1, { a: [1] }]]));
        atob(btoa('x'));
        new URL('https://example.com/a?b=1').searchParams.get('b');
        const controller = new AbortController(); controller.abort();
        new EventTarget().dispatchEvent(new Event('x'));
        new Blob(['abc']).size;
        crypto.randomUUID(); crypto.getRandomValues(new Uint8Array(4));
        performance.now(); navigator.userAgent;
        console.log(new DOMException('m', 'DataCloneError').name);
        """;

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task TheGlobalObjectHoldsOnlyStandardAndDocumentedGlobals(bool module, bool afterEveryWebApi)
    {
        string body = Walk + (afterEveryWebApi ? TouchEveryWebApi : "");
        string code = module
            ? body + "\nexport default await new Promise(r => setTimeout(() => r(walk()), 1));"
            : body + "\nnew Promise(r => setTimeout(() => r(walk()), 1));";
        var outcome = await fx.RunAsync(code, module: module);
        OutcomeAssert.Status(OutcomeStatus.Ok, outcome);
        var chain = JsonSerializer.Deserialize<string[][]>(outcome.ResultJson!)!;

        // The global object itself.
        var unexpected = chain[0].Except(EcmaScriptGlobals).Except(WebGlobals).Where(n => n != ClearScriptHelper).ToList();
        Assert.True(unexpected.Count == 0, "unexpected globals: " + string.Join(", ", unexpected));
        var missing = EcmaScriptGlobals.Concat(WebGlobals).Except(chain[0]).ToList();
        Assert.True(missing.Count == 0, "missing globals: " + string.Join(", ", missing));
        Assert.Equal(chain[0].Length, chain[0].Distinct().Count());

        // Its prototype chain: V8's global template object (only `constructor`, which is Object),
        // then Object.prototype; the last row is the walker's check of that constructor.
        Assert.Equal(4, chain.Length);
        Assert.Equal(["constructor"], chain[1]);
        Assert.Equal(ObjectPrototypeKeys.Order(), chain[2].Order());
        Assert.Equal(["true"], chain[3]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ClearScriptsHelperCannotBeReplacedOrChanged(bool module)
    {
        // ClearScript 7.5.1.1 defines EngineInternal with Object.defineProperty before any Warden code:
        // non-writable, non-configurable, its value frozen. That is why it cannot be deleted (by the
        // prelude or from .NET) and also why a script cannot swap in its own helpers.
        string code = """
            const d = Object.getOwnPropertyDescriptor(globalThis, 'EngineInternal');
            const tries = [];
            // Refused either way: false in sloppy code, a TypeError in strict code (modules).
            const attempt = (f) => { try { tries.push(f() === false ? 'refused' : 'done'); } catch (e) { tries.push(e instanceof TypeError ? 'refused' : 'threw'); } };
            attempt(() => delete globalThis.EngineInternal);
            attempt(() => Reflect.set(globalThis, 'EngineInternal', {}));
            attempt(() => Reflect.defineProperty(globalThis, 'EngineInternal', { get() { return {}; } }));
            attempt(() => Reflect.set(d.value, 'getModuleResult', () => 1));
            attempt(() => Reflect.defineProperty(d.value, 'invokeMethod', { value: 1 }));
            attempt(() => Object.setPrototypeOf(d.value, {}));
            const result = { writable: d.writable, configurable: d.configurable, frozen: Object.isFrozen(d.value),
              same: globalThis.EngineInternal === d.value, tries };
            """ + (module ? "export default result;" : "result");
        var outcome = await fx.RunAsync(code, module: module);
        OutcomeAssert.Ok("""{"writable":false,"configurable":false,"frozen":true,"same":true,"tries":["refused","refused","refused","refused","refused","refused"]}""", outcome);
    }

    [Fact]
    public async Task NamesClearScriptUsesInternallyCannotInfluenceAnExecution()
    {
        // The names ClearScript's native side puts on the global and its init script takes away
        // (isHostObjectKey, moduleResultKey, getPromiseState, getPromiseResult, toJson), planted as
        // accessors that record any read; EngineInternal-like names shadowed where a script can; and
        // accessors on Object.prototype and Promise.prototype, through which ClearScript's own helper
        // (getModuleResult, which awaits the module wrapper's evaluation) could meet script code.
        var before = fx.Sandbox.Statistics.WorkersStarted;
        string code = """
            // A string, not an array: an array's index writes would run the Object.prototype accessors below.
            let touched = '';
            for (const name of ['isHostObjectKey', 'moduleResultKey', 'getPromiseState', 'getPromiseResult', 'toJson',
                                'engineInternal', 'V8Internal', 'commandHolder']) {
              Object.defineProperty(globalThis, name, { get() { touched += name + ' '; return () => { touched += name + '() '; }; }, configurable: true });
            }
            Object.defineProperty(Object.prototype, '0', { get() { touched += 'get0 '; return undefined; },
              set(v) { touched += 'set0 '; }, configurable: true });
            globalThis.Symbol.for = () => Symbol('fake');
            await new Promise(r => setTimeout(r, 5));
            export default async () => { await null; return { value: 42, touched }; };
            """;
        var clock = Stopwatch.StartNew();
        var outcome = await fx.RunAsync(code, module: true);
        var elapsed = clock.Elapsed;
        // The result is the script's own; whatever ClearScript read or wrote through the planted
        // accessors (recorded, if anything, in `touched`) changed nothing about it.
        OutcomeAssert.Status(OutcomeStatus.Ok, outcome);
        using var result = JsonDocument.Parse(outcome.ResultJson!);
        Assert.Equal(42, result.RootElement.GetProperty("value").GetInt32());
        string touched = result.RootElement.GetProperty("touched").GetString()!;
        log.WriteLine("touched: " + touched);
        foreach (var name in new[] { "isHostObjectKey", "moduleResultKey", "getPromise", "toJson", "engineInternal", "V8Internal", "commandHolder" })
        {
            Assert.DoesNotContain(name, touched);
        }
        Assert.True(elapsed < TimeSpan.FromSeconds(3), $"took {elapsed}");
        Assert.Equal(before, fx.Sandbox.Statistics.WorkersStarted);
        await fx.AssertHealthyAsync();
    }
    [Fact]
    public async Task WhatAScriptHandsClearScriptsHelperChangesOnlyItsOwnOutcome()
    {
        // The strongest thing a script can do with ClearScript's helper in this configuration: answer
        // getModuleResult's lookup of the wrapper's import.meta with a Proxy, which receives ClearScript's
        // module-result symbol and answers with a thenable of its own, and so fail itself. It ends as the script_error it made, described by the prelude, on the same worker.
        var before = fx.Sandbox.Statistics.WorkersStarted;
        var clock = Stopwatch.StartNew();
        var outcome = await fx.RunAsync("""
            Object.defineProperty(Object.prototype, '0', { configurable: true,
              get() {
                // Read as metaHolder[0]; the Proxy then receives ClearScript's module-result symbol.
                const thenable = { then(resolve, reject) { reject(new TypeError('made up')); } };
                return new Proxy({}, { get: (t, key) => typeof key === 'symbol' ? thenable : undefined });
              } });
            const { proxy, revoke } = Proxy.revocable({}, {});
            EngineInternal.isHostObject(proxy);
            revoke();
            export default 'never';
            """, module: true);
        var elapsed = clock.Elapsed;
        log.WriteLine($"{elapsed.TotalMilliseconds:F0} ms: {outcome.ToJson()}");
        var error = OutcomeAssert.Failed(OutcomeStatus.ScriptError, "TypeError", outcome);
        Assert.Equal("made up", error.Message);
        Assert.True(elapsed < TimeSpan.FromSeconds(3), $"took {elapsed}");
        Assert.Equal(before, fx.Sandbox.Statistics.WorkersStarted);
        await fx.AssertHealthyAsync();
    }
}
