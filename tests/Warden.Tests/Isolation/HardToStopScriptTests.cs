namespace Warden.Tests.Isolation;

/// <summary>
/// Scripts the engine struggles to stop — rejection storms, builtins and allocations that ignore interrupts,
/// huge heaps — end at their limit, promptly, and leave their worker fit for the next execution.
/// </summary>
[Collection("sandbox")]
public sealed class HardToStopScriptTests(SandboxFixture fx)
{
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

    [Fact]
    public async Task ALargeExecutionDoesNotSlowTheNextOneDown()
    {
        for (int i = 0; i < 2; i++)
        {
            OutcomeAssert.Status(OutcomeStatus.Ok, await fx.RunAsync(
                "const keep = []; for (let i = 0; i < 3e6; i++) keep.push({ i }); keep.length", memoryMb: 512, timeoutMs: 20_000, key: "large-then-small"));
            var next = await fx.RunAsync("let s = 0; for (let i = 0; i < 1e5; i++) s += i; s", memoryMb: 512, timeoutMs: 250, key: "large-then-small");
            OutcomeAssert.Ok("4999950000", next);
        }
    }
}
