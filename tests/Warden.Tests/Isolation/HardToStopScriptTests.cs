namespace Warden.Tests.Isolation;

/// <summary>Regressions from the second round of attacks on the sandbox core.</summary>
[Collection("sandbox")]
public sealed class HardToStopScriptTests(SandboxFixture fx)
{
    [Fact]
    public async Task HostExceptionsAreNeverExposed()
    {
        OutcomeAssert.Ok("[\"undefined\",true]", await fx.RunAsync(
            "import('nope').catch(e => [typeof e.hostException, e instanceof Error])"));
    }

    [Fact]
    public async Task RejectionStormsInModulesEndAtTheirLimit()
    {
        var (outcome, elapsed) = await fx.TimedAsync(new Submission
        {
            Code = "for (;;) { const p = Promise.reject(1); p.catch(() => {}); }",
            IsModule = true,
            Limits = new ExecutionLimits(TimeoutMs: 300),
        });
        OutcomeAssert.Status(OutcomeStatus.Timeout, outcome);
        Assert.True(elapsed < TimeSpan.FromSeconds(3), $"took {elapsed}");
        await fx.AssertHealthyAsync();
    }

    [Theory]
    // Thrown after top-level await: the rejection is described inside the isolate, exactly.
    [InlineData("await null; throw -0", "Uncaught -0")]
    [InlineData("await null; throw Symbol('s')", "Uncaught Symbol(s)")]
    // Thrown synchronously: ClearScript formats the error (docs/limits.md, "Module errors").
    [InlineData("throw new RangeError('sync')", "sync")]
    [InlineData("throw 7", "Uncaught 7")]
    public async Task ModulesReportThrownValuesFaithfully(string code, string message)
    {
        var outcome = await fx.RunAsync(code, module: true);
        OutcomeAssert.Status(OutcomeStatus.ScriptError, outcome);
        Assert.Equal(message, outcome.Error!.Message);
    }

    [Fact]
    public async Task ANewTargetCannotForgeARefusal()
    {
        var outcome = await fx.RunAsync(
            "const nt = function () {}.bind();\n" +
            "Object.defineProperty(nt, 'prototype', { get() { throw new RangeError('Array buffer allocation failed') } });\n" +
            "Reflect.construct(Uint8Array, [8], nt)");
        OutcomeAssert.Failed(OutcomeStatus.ScriptError, "RangeError", outcome);
        Assert.Null(outcome.Error!.Limit);
    }

    [Fact]
    public async Task AnUncaughtMicrotaskErrorIsNotLostBehindAResult()
    {
        var outcome = await fx.RunAsync("queueMicrotask(() => { throw new TypeError('in microtask') }); 42");
        OutcomeAssert.Failed(OutcomeStatus.ScriptError, "TypeError", outcome);
    }

    [Fact]
    public async Task TimersHaveWholeMillisecondsAndIntervalsAreThrottled()
    {
        OutcomeAssert.Ok("true", await fx.RunAsync(
            "const order = [];\n" +
            "setTimeout(() => order.push('a'), 0.9);\n" +
            "setTimeout(() => order.push('b'), 0);\n" +
            "let ticks = 0;\n" +
            "const iv = setInterval(() => ticks++, 0);\n" +
            "new Promise(r => setTimeout(() => { clearInterval(iv); r(order.join() === 'a,b' && ticks < 60) }, 100));"));
    }

    [Fact]
    public async Task AnUninterruptibleBuiltinPastItsCpuLimitEndsItsWorkerPromptly()
    {
        // The CPU limit trips long before the wall deadline; the worker ends itself when the
        // engine ignores the interrupt, instead of running until the host's deadline.
        var (outcome, elapsed) = await fx.TimedAsync(new Submission
        {
            Code = "'a'.repeat(1 << 25).replace(/a/g, 'bb').length",
            Limits = new ExecutionLimits(TimeoutMs: 20_000, CpuMs: 100, MemoryMb: 1024),
        });
        OutcomeAssert.Status(OutcomeStatus.Timeout, outcome);
        Assert.Equal(LimitKind.Cpu, outcome.Error!.Limit);
        Assert.True(elapsed < TimeSpan.FromSeconds(5), $"took {elapsed} (the wall limit was 20 s)");
        await fx.AssertHealthyAsync();
    }

    [Fact]
    public async Task AnUninterruptibleAllocationEndsAtTheMemoryBudgetNotTheDeadline()
    {
        var (outcome, elapsed) = await fx.TimedAsync(new Submission
        {
            Code = "Array.prototype.fill.call({ length: 2 ** 53 - 1 }, 0); 1",
            Limits = new ExecutionLimits(TimeoutMs: 60_000, MemoryMb: 32),
        });
        OutcomeAssert.Status(OutcomeStatus.MemoryLimit, outcome);
        Assert.True(elapsed < TimeSpan.FromSeconds(20), $"took {elapsed}");
        await fx.AssertHealthyAsync();
    }
}
