namespace Warden.Tests.Limits;

/// <summary>Every CPU and wall-time hog must end as <c>timeout</c> shortly after its limit, and the next execution must be fine.</summary>
[Collection("sandbox")]
public sealed class TimeLimitTests(SandboxFixture fx)
{
    private const int LimitMs = 300;
    // Generous slack: the contract is limit + grace (≤ 1 s); tests allow that plus scheduling noise on
    // a loaded two-core machine (worker teardown and reaping are included in the caller's time).
    private static readonly TimeSpan MaxElapsed = TimeSpan.FromMilliseconds(LimitMs + 1000 + 1500);

    public static TheoryData<string, string> Hogs => new()
    {
        { "busy loop", "while (true) {}" },
        { "catch and continue", "for (;;) { try { while (true) {} } catch (e) {} }" },
        { "finally loop", "for (;;) { try { for (;;) {} } finally { continue } }" },
        { "microtask loop", "function f() { queueMicrotask(f) } f(); new Promise(() => {})" },
        { "promise loop", "function f() { return Promise.resolve().then(f) } f(); new Promise(() => {})" },
        { "timer chain", "function f() { setTimeout(f, 0) } f(); new Promise(() => {})" },
        { "interval", "setInterval(() => {}, 0); new Promise(() => {})" },
        { "async loop", "(async () => { for (;;) await null })()" },
        { "redos", "/(a+)+$/.test('a'.repeat(40) + '!')" },
        { "hostile thrown proxy", "throw new Proxy({}, { get() { while (true) {} } })" },
        { "hostile result getter", "({ get x() { while (true) {} } })" },
        { "hostile thenable", "({ then() { while (true) {} } })" },
        { "hostile toJSON", "({ toJSON() { for (;;) {} } })" },
        { "console of a looping proxy", "console.log(new Proxy({}, { ownKeys() { for (;;) {} } })); 1" },
        { "prepareStackTrace loop", "Error.prepareStackTrace = () => { for (;;) {} }; throw new Error('x')" },
    };

    [Theory]
    [MemberData(nameof(Hogs))]
    public async Task HogsAreStoppedAtTheirLimit(string name, string code)
    {
        var (outcome, elapsed) = await fx.TimedAsync(new Submission { Code = code, Limits = new ExecutionLimits(TimeoutMs: LimitMs) });
        OutcomeAssert.Status(OutcomeStatus.Timeout, outcome);
        Assert.True(outcome.Error!.Limit is LimitKind.Wall or LimitKind.Cpu, name);
        Assert.True(elapsed < MaxElapsed, $"{name}: took {elapsed}");
        Assert.True(outcome.Usage.WallMs >= LimitMs * 0.9, $"{name}: stopped early at {outcome.Usage.WallMs} ms");
        await fx.AssertHealthyAsync();
    }

    [Fact]
    public async Task CpuLimitIsTheScriptThreadsCpuTime()
    {
        var outcome = await fx.RunAsync("while (true) {}", timeoutMs: 5000, cpuMs: 150);
        OutcomeAssert.Status(OutcomeStatus.Timeout, outcome);
        Assert.Equal(LimitKind.Cpu, outcome.Error!.Limit);
        Assert.InRange(outcome.Usage.WallMs, 140, 1500);
    }

    [Fact]
    public async Task WaitingCostsWallTimeNotCpu()
    {
        var outcome = await fx.RunAsync("new Promise(r => setTimeout(r, 60_000))", timeoutMs: 300, cpuMs: 100);
        OutcomeAssert.Status(OutcomeStatus.Timeout, outcome);
        Assert.Equal(LimitKind.Wall, outcome.Error!.Limit);
    }

    [Fact]
    public async Task UninterruptibleBuiltinsAreKilledByTheHostDeadline()
    {
        // shift() on a huge array-like runs inside one built-in that never checks for interrupts
        // (the built-in guards do not cover it); only the worker ending itself stops it.
        var (outcome, elapsed) = await fx.TimedAsync(new Submission
        {
            Code = "Array.prototype.shift.call({ length: 2 ** 32 - 1 })",
            Limits = new ExecutionLimits(TimeoutMs: LimitMs, MemoryMb: 1024),
        });
        OutcomeAssert.Status(OutcomeStatus.Timeout, outcome);
        Assert.Equal(LimitKind.Wall, outcome.Error!.Limit);
        Assert.True(elapsed < MaxElapsed, $"took {elapsed}");
        await fx.AssertHealthyAsync();
    }

    [Fact]
    public async Task AScriptThatFinishesJustUnderItsLimitIsNotStopped()
    {
        var outcome = await fx.RunAsync("const end = Date.now() + 100; while (Date.now() < end) {} 'done'", timeoutMs: 2000);
        OutcomeAssert.Ok("\"done\"", outcome);
    }
}
