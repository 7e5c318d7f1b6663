namespace Warden.Tests.Isolation;

[Collection("sandbox")]
public sealed class IsolationTests(SandboxFixture fx)
{
    [Fact]
    public async Task NothingOfOneExecutionIsVisibleToTheNext()
    {
        OutcomeAssert.Status(OutcomeStatus.Ok, await fx.RunAsync("""
            globalThis.leaked = 'secret'; var leakedVar = 1;
            Object.prototype.polluted = true; Array.prototype.push = () => 0; JSON.stringify = () => '"hijacked"';
            setTimeout(() => { globalThis.late = 1 }, 10_000);
            1
            """));
        OutcomeAssert.Ok("[\"undefined\",\"undefined\",\"undefined\",2,\"[1]\"]", await fx.RunAsync(
            "[typeof leaked, typeof leakedVar, typeof ({}).polluted, [1].push(2), JSON.stringify([1])]"));
    }

    [Fact]
    public async Task PatchingBuiltinsCannotHijackTheResultPath()
    {
        // The prelude captured JSON.stringify and Promise.prototype.then before user code ran.
        OutcomeAssert.Ok("{\"a\":1}", await fx.RunAsync("JSON.stringify = () => 'evil'; Promise.prototype.then = function () {}; ({ a: 1 })"));
    }

    [Fact]
    public async Task ScriptsSeeNoHostObjects()
    {
        var outcome = await fx.RunAsync("""
            const names = Object.getOwnPropertyNames(globalThis);
            const suspicious = names.filter(n => /host|clr|system|bridge|warden|xhr|fetch|require|process|Deno|Bun/i.test(n));
            [suspicious, typeof bridge, typeof host]
            """);
        OutcomeAssert.Ok("[[],\"undefined\",\"undefined\"]", outcome);
    }

    [Fact]
    public async Task StackInspectionCannotReachThePreludesFrames()
    {
        var outcome = await fx.RunAsync("""
            let found = [];
            Error.prepareStackTrace = (e, sites) => { for (const s of sites) { found.push([typeof s.getThis(), typeof s.getFunction()]) } return 'x' };
            console.log('trigger'); try { null.x } catch (e) { e.stack }
            setTimeout(() => { try { null.y } catch (e) { e.stack } }, 0);
            new Promise(r => setTimeout(() => r(found.filter(([t, f]) => f === 'function' && t === 'object').length), 5));
            """);
        OutcomeAssert.Status(OutcomeStatus.Ok, outcome);
    }

    [Fact]
    public async Task DifferentIsolationKeysNeverShareAWorkerProcess()
    {
        var a1 = await fx.RunAsync("1", key: "tenant-a");
        var a2 = await fx.RunAsync("1", key: "tenant-a");
        var b = await fx.RunAsync("1", key: "tenant-b");
        var a3 = await fx.RunAsync("1", key: "tenant-a");
        Assert.Equal(a1.WorkerPid, a2.WorkerPid);
        Assert.NotEqual(a1.WorkerPid, b.WorkerPid);
        Assert.NotEqual(b.WorkerPid, a3.WorkerPid);
    }

    [Fact]
    public async Task AViolationRetiresTheWorker()
    {
        var before = await fx.RunAsync("1", key: "retire");
        OutcomeAssert.Status(OutcomeStatus.MemoryLimit, await fx.RunAsync("new ArrayBuffer(64 << 20); 1", memoryMb: 16, key: "retire"));
        var after = await fx.RunAsync("1", key: "retire");
        Assert.NotEqual(before.WorkerPid, after.WorkerPid);
        Assert.DoesNotContain(before.WorkerPid, fx.Sandbox.WorkerPids);
    }

    [Fact]
    public async Task AnInterruptedTimeoutKeepsTheWorkerSoTimeoutsCannotAmplifyIntoRestarts()
    {
        // Each restart costs ~0.8 s of host CPU: a 1 ms timeout must not buy one. The isolate is
        // discarded as always, so nothing of the timed-out execution reaches the next one.
        var before = await fx.RunAsync("globalThis.leaked = 1; 1", key: "timeouts");
        for (int i = 0; i < 5; i++)
        {
            OutcomeAssert.Status(OutcomeStatus.Timeout, await fx.RunAsync("globalThis.leaked = 2; for(;;){}", timeoutMs: 1, key: "timeouts"));
        }
        var after = await fx.RunAsync("typeof leaked", key: "timeouts");
        OutcomeAssert.Ok("\"undefined\"", after);
        Assert.Equal(before.WorkerPid, after.WorkerPid);
    }
}
