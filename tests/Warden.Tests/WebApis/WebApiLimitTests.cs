namespace Warden.Tests.WebApis;

/// <summary>
/// Attacks through the web APIs: whatever they allocate or schedule is the execution's own heap,
/// ArrayBuffer memory and CPU, so each hog ends at its limit, in time, and the sandbox stays healthy.
/// </summary>
[Collection("sandbox")]
public sealed class WebApiLimitTests(SandboxFixture fx)
{
    private static readonly TimeSpan MaxElapsed = TimeSpan.FromSeconds(15);

    public static TheoryData<string, string, OutcomeStatus> Hogs => new()
    {
        { "one huge Blob", "new Blob([new Uint8Array(20 << 20), new Uint8Array(20 << 20)]).size", OutcomeStatus.MemoryLimit },
        { "Blob bomb", "const keep = []; const chunk = new Uint8Array(1 << 20); for (;;) keep.push(new Blob([chunk]))", OutcomeStatus.MemoryLimit },
        { "structuredClone bomb", "const a = []; for (let i = 0; i < 1e5; i++) a.push({ i }); const keep = []; for (;;) keep.push(structuredClone(a))", OutcomeStatus.MemoryLimit },
        { "AbortSignal.timeout flood", "for (;;) AbortSignal.timeout(1e9)", OutcomeStatus.MemoryLimit },
        { "TextEncoder bomb", "const keep = []; const s = 'x'.repeat(1 << 20); for (;;) keep.push(new TextEncoder().encode(s))", OutcomeStatus.MemoryLimit },
        { "URLSearchParams bomb", "const p = new URLSearchParams(); for (let i = 0; ; i++) p.append('k' + i, 'v'.repeat(100))", OutcomeStatus.MemoryLimit },
        // The shim checks for duplicate listeners one by one: quadratic, so CPU runs out before memory.
        { "EventTarget listener bomb", "const t = new EventTarget(); for (;;) t.addEventListener('x', () => {})", OutcomeStatus.Timeout },
        { "getRandomValues spin", "const b = new Uint8Array(65536); for (;;) crypto.getRandomValues(b)", OutcomeStatus.Timeout },
        { "randomUUID spin", "for (;;) crypto.randomUUID()", OutcomeStatus.Timeout },
        { "URL parsing spin", "for (let i = 0; ; i++) new URL('https://b\\u00fccher.example/' + i)", OutcomeStatus.Timeout },
        { "event dispatch loop", "const t = new EventTarget(); t.addEventListener('x', () => t.dispatchEvent(new Event('y'))); for (;;) t.dispatchEvent(new Event('x'))", OutcomeStatus.Timeout },
    };

    [Theory]
    [MemberData(nameof(Hogs))]
    public async Task EachHogStopsAtItsLimit(string name, string code, OutcomeStatus expected)
    {
        var (outcome, elapsed) = await fx.TimedAsync(new Submission
        {
            Code = code,
            // Memory hogs get time enough to reach the memory limit; CPU hogs end at 1.5 s.
            Limits = new ExecutionLimits(TimeoutMs: expected == OutcomeStatus.MemoryLimit ? 10_000 : 1500, MemoryMb: 32),
        });
        OutcomeAssert.Status(expected, outcome);
        Assert.True(elapsed < MaxElapsed, $"{name}: took {elapsed}");
        await fx.AssertHealthyAsync();
    }

    [Fact]
    public async Task ADeepStructuredCloneIsStoppedWithoutHurtingTheWorker()
    {
        // Recursion in the polyfill: the engine's stack limit (a catchable RangeError) or the CPU limit.
        var (outcome, elapsed) = await fx.TimedAsync(new Submission
        {
            Code = "let o = {}; for (let i = 0; i < 1e6; i++) o = { o }; structuredClone(o); 'cloned'",
            Limits = new ExecutionLimits(TimeoutMs: 2000, MemoryMb: 256),
        });
        Assert.True(outcome.Status is OutcomeStatus.ScriptError or OutcomeStatus.Timeout or OutcomeStatus.MemoryLimit, outcome.ToJson());
        if (outcome.Status == OutcomeStatus.ScriptError)
        {
            Assert.Equal("RangeError", outcome.Error!.Name);
        }
        Assert.True(elapsed < MaxElapsed, $"took {elapsed}");
        await fx.AssertHealthyAsync();
    }

    [Fact]
    public async Task RandomValuesComeFromTheLockedDownWorkersCsprng()
    {
        // The fixture's workers run with every OS layer: the CSPRNG works after the seccomp lockdown,
        // and no two executions (nor workers) repeat a sequence.
        var seen = new HashSet<string>();
        for (int i = 0; i < 6; i++)
        {
            var outcome = await fx.RunAsync("[crypto.randomUUID(), Array.from(crypto.getRandomValues(new Uint8Array(32))).join()]", key: "csprng-" + (i % 3));
            OutcomeAssert.Status(OutcomeStatus.Ok, outcome);
            Assert.True(seen.Add(outcome.ResultJson!), "a random sequence repeated");
        }
        // 256 bits of 64 KiB are nowhere near uniform only if the source is broken: a crude check.
        var spread = await fx.RunAsync("const b = crypto.getRandomValues(new Uint8Array(65536)); const c = new Array(256).fill(0); for (const x of b) c[x]++; [Math.min(...c), Math.max(...c)]");
        OutcomeAssert.Status(OutcomeStatus.Ok, spread);
        var bounds = System.Text.Json.JsonDocument.Parse(spread.ResultJson!).RootElement;
        Assert.InRange(bounds[0].GetInt32(), 150, 256);
        Assert.InRange(bounds[1].GetInt32(), 256, 380);
    }

    [Fact]
    public async Task TheBridgeRefusesOversizedRandomRequests()
    {
        // Only the prelude holds the bridge; its RandomBytes answers an out-of-range count with "",
        // which the script side turns into an error rather than trusting.
        var outcome = await fx.RunAsync("try { crypto.getRandomValues(new Uint8Array(70000)); 'filled' } catch (e) { e.name }");
        OutcomeAssert.Ok("\"QuotaExceededError\"", outcome);
    }

    [Fact]
    public async Task PatchingBuiltinsBeforeFirstUseOnlyBreaksThatExecution()
    {
        var broken = await fx.RunAsync("Array.from = () => { throw new Error('patched'); }; Object.defineProperty = null; try { new URL('https://a/').href } catch (e) { 'broke: ' + e.message }");
        Assert.Equal(OutcomeStatus.Ok, broken.Status);
        var clean = await fx.RunAsync("[new URL('https://a/b').href, Array.from(new TextEncoder().encode('x'))]");
        OutcomeAssert.Ok("[\"https://a/b\",[120]]", clean);
    }

    [Fact]
    public async Task APatchedBuiltinCannotWalkUpIntoTheLibrariesFrames()
    {
        // Found in review: the bundle was sloppy code, so a patched built-in could read its caller's
        // `arguments` and take the capability record the prelude hands the web APIs. Now all strict.
        var outcome = await fx.RunAsync("""
            var got = [], orig = Object.getPrototypeOf;
            Object.getPrototypeOf = function gp(o) {
              try { var c = gp.caller; if (c) got.push(c.arguments ? c.arguments.length : 'caller'); } catch (e) { got.push(e.name); }
              return orig(o);
            };
            crypto; new URL('https://a/'); new AbortController(); performance.now(); structuredClone({});
            Object.getPrototypeOf = orig;
            got.filter((g) => g !== 'TypeError')
            """);
        OutcomeAssert.Ok("[]", outcome);
    }

    [Fact]
    public async Task AValueThrownWhileTheBundleLoadsNeverReachesDotNet()
    {
        // Found in review: a built-in patched to throw during the bundle's top level sent the thrown
        // value through ClearScript, which read its toString/stack outside every limit (a 100 MB
        // string ended the worker). Now the bundle catches and the prelude rethrows it in JS.
        var (outcome, elapsed) = await fx.TimedAsync(new Submission
        {
            Code = """
                var od = Object.defineProperty, n = 0, big = 'x'.repeat(1e8), read = 0;
                var thrown = { toString() { read++; return big; }, get stack() { read++; return big; } };
                Object.defineProperty = function (o, k, d) { if (n++ === 0) throw thrown; return od(o, k, d); };
                var same;
                try { crypto; } catch (e) { same = e === thrown; }
                Object.defineProperty = od;
                [same, read, typeof crypto.randomUUID()]
                """,
            Limits = new ExecutionLimits(TimeoutMs: 5000, MemoryMb: 256),
        });
        OutcomeAssert.Ok("[true,0,\"string\"]", outcome);
        Assert.True(elapsed < TimeSpan.FromSeconds(10), $"took {elapsed}");
        await fx.AssertHealthyAsync();
    }

    [Fact]
    public async Task CoreJsKeepsItsStateOffTheGlobal()
    {
        var outcome = await fx.RunAsync("""
            globalThis['__core-js_shared__'] = { planted: true };
            structuredClone(new Map([[1, 2]])); atob('aGk=');
            [Object.keys(globalThis['__core-js_shared__']).join(), delete globalThis['__core-js_shared__'], structuredClone({ a: 1 }).a]
            """);
        OutcomeAssert.Ok("[\"planted\",true,1]", outcome);
    }

    [Fact]
    public async Task TheWebApisLeaveNoHostCapabilityOnTheGlobal()
    {
        // Touch every API, then look for anything reachable from the global that is not plain JS.
        var outcome = await fx.RunAsync("""
            const names = ['URL','URLSearchParams','TextEncoder','TextDecoder','structuredClone','atob','btoa','DOMException',
              'Event','EventTarget','AbortController','AbortSignal','Blob','crypto','Crypto','performance','Performance','navigator'];
            names.forEach((n) => globalThis[n]);
            const found = [];
            for (const key of Reflect.ownKeys(globalThis)) {
              const d = Object.getOwnPropertyDescriptor(globalThis, key);
              if (d.get || d.set) found.push('accessor ' + String(key));
            }
            [typeof bridge, typeof host, typeof webHost, typeof wardenWebApis, typeof createWebApis, typeof require, typeof module, found]
            """);
        OutcomeAssert.Ok("[\"undefined\",\"undefined\",\"undefined\",\"undefined\",\"undefined\",\"undefined\",\"undefined\",[]]", outcome);
    }
}
