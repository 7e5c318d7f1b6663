using System.Diagnostics;

namespace Warden.Tests.Limits;

/// <summary>The cgroup's CPU quota: a worker gets at most its share of the machine, whatever it runs.</summary>
[Collection("sandbox")]
public sealed class OsCpuQuotaTests(SandboxFixture fixture)
{
    [Fact]
    public async Task ABusyLoopIsThrottledToTheWorkersQuota()
    {
        // A fifth of a core: 300 ms of CPU takes about 1.5 s of wall time. The spare is started (under
        // the same quota, which makes its start-up slow too) before the clock runs.
        await using var sandbox = new Sandbox(new SandboxOptions { MaxWorkers = 1, SpareWorkers = 1, WorkerCpuCores = 0.2 });
        await sandbox.WarmUpAsync();
        var clock = Stopwatch.StartNew();
        var outcome = await sandbox.RunAsync(new Submission { Code = "while (true) {}", Limits = new ExecutionLimits(TimeoutMs: 20_000, CpuMs: 300) });
        clock.Stop();

        var error = OutcomeAssert.Failed(OutcomeStatus.Timeout, "TimeoutError", outcome);
        Assert.Equal(LimitKind.Cpu, error.Limit);
        // Unthrottled this ends after ~0.3 s; throttled to 20 % it cannot end before ~1.5 s.
        Assert.True(clock.Elapsed > TimeSpan.FromSeconds(1.2), $"not throttled: ended after {clock.Elapsed}");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(8), $"ended only after {clock.Elapsed}");
        await fixture.AssertHealthyAsync();
    }
}
