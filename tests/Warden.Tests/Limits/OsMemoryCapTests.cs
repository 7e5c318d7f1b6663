using System.Diagnostics;

namespace Warden.Tests.Limits;

/// <summary>
/// The cgroup's memory cap is the last word on memory: it counts what no engine limit sees.
/// To prove that layer on its own, the worker's in-process resident-memory check is switched off
/// here (it would otherwise stop these bombs first, which is what it is for).
/// </summary>
[Collection("sandbox")]
public sealed class OsMemoryCapTests(SandboxFixture fixture)
{
    private const string WebAssemblyMemoryBomb = """
        const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
        let filled = 0;
        for (;;) {
          memory.grow(256);                                   // 16 MiB more, outside the V8 heap
          new Uint8Array(memory.buffer, filled).fill(1);      // and really touched
          filled = memory.buffer.byteLength;
        }
        """;

    [Fact]
    public async Task AWebAssemblyMemoryBombIsStoppedByTheCgroupCapAndHarmsNoOtherWorker()
    {
        var logger = new RecordingLogger<Sandbox>();
        await using var sandbox = new Sandbox(new SandboxOptions
        {
            MaxWorkers = 2,
            SpareWorkers = 0,
            EnableWebAssembly = true,
            ResidentMemoryBackstop = false,
        }, logger);
        // Another tenant's worker, busy while the bomb goes off.
        var neighbour = sandbox.RunAsync(new Submission
        {
            Code = "new Promise(r => setTimeout(() => r(input.n * 2), 1500))",
            InputJson = "{\"n\":21}",
            IsolationKey = "neighbour",
            Limits = new ExecutionLimits(TimeoutMs: 20_000),
        });
        var clock = Stopwatch.StartNew();
        var outcome = await sandbox.RunAsync(new Submission
        {
            Code = WebAssemblyMemoryBomb,
            IsolationKey = "attacker",
            Limits = new ExecutionLimits(TimeoutMs: 30_000, MemoryMb: 64),
        });
        clock.Stop();

        var error = OutcomeAssert.Failed(OutcomeStatus.MemoryLimit, "MemoryLimitError", outcome);
        Assert.Equal(LimitKind.Process, error.Limit);
        Assert.Contains("OS cap", error.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"the bomb ran for {clock.Elapsed}");
        OutcomeAssert.Ok("42", await neighbour);
        // The sandbox replaced the worker and goes on.
        OutcomeAssert.Ok("2", await sandbox.RunAsync(new Submission { Code = "1 + 1", IsolationKey = "attacker" }));
        await fixture.AssertHealthyAsync();
    }
}
