namespace Warden.Tests.Isolation;

/// <summary>
/// Attacks on the prelude, the wrapper around user code: whatever a script plants in built-ins, the
/// prelude's own state stays out of reach, nothing the script made is thrown into .NET, and the
/// outcome stays honest. (Found by attacking the sandbox; each was a real failure once.)
/// </summary>
[Collection("sandbox")]
public sealed class PreludeHardeningTests(SandboxFixture fx)
{
    [Fact]
    public async Task ArrayPrototypeSettersNeverSeeThePreludesRecords()
    {
        var outcome = await fx.RunAsync("""
            const seen = [];
            Object.defineProperty(Array.prototype, '0', { configurable: true, set(v) {
              if (v && typeof v === 'object' && 'due' in v) { v.due = 1e300; seen.push('timer'); }
              Object.defineProperty(this, '0', { value: v, writable: true, enumerable: true, configurable: true }); } });
            console.log('still logs');
            new Promise(r => setTimeout(() => r(seen.length), 10));
            """);
        OutcomeAssert.Ok("0", outcome);
        Assert.Equal("still logs", Assert.Single(outcome.Console).Text);
    }

    [Theory]
    [InlineData("Object.defineProperty(Promise.prototype, 'constructor', { configurable: true, get() { throw new Error('planted') } }); 42", false)]
    [InlineData("Object.defineProperty(Promise.prototype, 'constructor', { configurable: true, get() { throw new Proxy({}, { get() { for (;;) {} } }) } }); Promise.resolve(42)", false)]
    [InlineData("Object.defineProperty(Promise, Symbol.species, { get() { throw new Error('species') } }); Promise.resolve(42)", false)]
    [InlineData("Object.defineProperty(Promise.prototype, 'constructor', { configurable: true, get() { throw new Error('planted') } }); export default 42", true)]
    public async Task PlantedThrowsNeverEscapeIntoDotNet(string code, bool module)
    {
        var outcome = await fx.RunAsync(code, module: module, timeoutMs: 1000);
        Assert.True(outcome.Status is OutcomeStatus.Ok or OutcomeStatus.ScriptError or OutcomeStatus.Timeout, outcome.ToJson());
        Assert.DoesNotContain("could not be interrupted", outcome.Error?.Message ?? "");
        await fx.AssertHealthyAsync();
    }

    [Fact]
    public async Task FinalizationCallbacksRunUnderTheWatchdog()
    {
        var (outcome, elapsed) = await fx.TimedAsync(new Submission
        {
            Code = """
                const fr = new FinalizationRegistry(() => { while (1) {} });
                (function () { for (let i = 0; i < 3; i++) fr.register({}, i); })();
                let junk = []; for (let i = 0; i < 2e5; i++) junk.push({ i }); junk = null;
                new Promise(r => setTimeout(r, 50)).then(() => 'x')
                """,
            Limits = new ExecutionLimits(TimeoutMs: 8000, CpuMs: 200),
        });
        // Either the callbacks ran (and were stopped by the CPU limit) or GC did not get to them.
        Assert.True(outcome.Status is OutcomeStatus.Ok or OutcomeStatus.Timeout, outcome.ToJson());
        Assert.DoesNotContain("could not be interrupted", outcome.Error?.Message ?? "");
        Assert.True(elapsed < TimeSpan.FromSeconds(4), $"took {elapsed} (the wall limit was 8 s)");
        OutcomeAssert.Ok("[true,\"held\"]", await fx.RunAsync("""
            const fr = new FinalizationRegistry(() => {});
            [fr instanceof FinalizationRegistry, (fr.register({}, 'held'), 'held')]
            """));
    }

    [Theory]
    [InlineData("throw new RangeError('Array buffer allocation failed')")]
    [InlineData("throw { name: 'RangeError', message: 'Array buffer allocation failed' }")]
    [InlineData("new ArrayBuffer({ valueOf() { throw new RangeError('Array buffer allocation failed') } })")]
    [InlineData("new Uint8Array({ length: 2, get 0() { throw new RangeError('Array buffer allocation failed') } })")]
    [InlineData("try { new ArrayBuffer(2 ** 40) } catch { } throw new RangeError('Array buffer allocation failed')")]
    public async Task AScriptCannotForgeAMemoryLimit(string code)
    {
        var outcome = await fx.RunAsync(code);
        OutcomeAssert.Failed(OutcomeStatus.ScriptError, "RangeError", outcome);
        Assert.Null(outcome.Error!.Limit);
    }

    [Fact]
    public async Task ARealRefusalCaughtAndRethrownIsStillAMemoryLimit()
    {
        var outcome = await fx.RunAsync("try { new Uint8Array(1 << 30) } catch (e) { throw e }", memoryMb: 32);
        OutcomeAssert.Status(OutcomeStatus.MemoryLimit, outcome);
        Assert.Equal(LimitKind.ArrayBuffer, outcome.Error!.Limit);
    }

    [Fact]
    public async Task CraftedStackTextCannotStallErrorReporting()
    {
        var (outcome, elapsed) = await fx.TimedAsync(new Submission
        {
            Code = "const e = new Error('x'); e.stack = 'Error: x\\nat ' + '(eval at '.repeat(200000) + 'zzz'; throw e",
            Limits = new ExecutionLimits(TimeoutMs: 5000),
        });
        OutcomeAssert.Status(OutcomeStatus.ScriptError, outcome);
        Assert.True(elapsed < TimeSpan.FromSeconds(3), $"took {elapsed} (the wall limit was 5 s)");
    }

    [Fact]
    public async Task ConsoleNeverThrowsOnHostileValues()
    {
        var outcome = await fx.RunAsync("""
            const { proxy, revoke } = Proxy.revocable({}, {}); revoke();
            console.log('%d|%i|%f', Object.create(null), 2n ** 64n, Symbol('s'));
            console.log(proxy);
            console.log({ get boom() { throw new Error('getter') } });
            console.log([1, , 3]);
            'survived'
            """);
        OutcomeAssert.Ok("\"survived\"", outcome);
        Assert.Equal("NaN|18446744073709551616n|NaN", outcome.Console[0].Text);
        Assert.Equal("[1, empty, 3]", outcome.Console[3].Text);
    }

    [Fact]
    public async Task LongParserMessagesAreBounded()
    {
        var outcome = await fx.RunAsync("/" + new string('<', 200_000) + "(/");
        OutcomeAssert.Failed(OutcomeStatus.ScriptError, "SyntaxError", outcome);
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(outcome.Error!.Message) <= fx.Sandbox.Limits.MaxErrorTextBytes);
    }
}
