using System.Diagnostics;

namespace Warden.Tests;

/// <summary>
/// Runs one attack on a sandbox of its own (one worker, no spare), so that the worker it runs on is
/// known before it starts: the worker's resident memory is sampled from /proc while the attack runs,
/// and the pool's statistics tell whether a worker died or had to be started for it.
/// </summary>
internal sealed class AttackProbe : IAsyncDisposable
{
    private readonly Sandbox _sandbox;

    private AttackProbe(Sandbox sandbox) => _sandbox = sandbox;

    public static async Task<AttackProbe> StartAsync()
    {
        var sandbox = new Sandbox(new SandboxOptions { MaxWorkers = 1, SpareWorkers = 0 });
        var probe = new AttackProbe(sandbox);
        // The worker exists (and has run once) before any measurement.
        OutcomeAssert.Ok("1", await sandbox.RunAsync(new Submission { Code = "1" }));
        return probe;
    }

    public SandboxStatistics Statistics => _sandbox.Statistics;

    /// <summary>Runs <paramref name="code"/> and reports its outcome, the time it took and how far the worker's resident memory rose above its size just before.</summary>
    public async Task<AttackResult> RunAsync(string code, int memoryMb = 128, int timeoutMs = 20_000)
    {
        int worker = WorkerProcessInspector.FindWorker(_sandbox.WorkerPids.Single());
        using var sampler = new ResidentSampler(worker);
        var before = _sandbox.Statistics;
        var clock = Stopwatch.StartNew();
        var outcome = await _sandbox.RunAsync(new Submission { Code = code, Limits = new ExecutionLimits(TimeoutMs: timeoutMs, MemoryMb: memoryMb) });
        var elapsed = clock.Elapsed;
        return new AttackResult(outcome, elapsed, sampler.Stop(), before, _sandbox.Statistics);
    }

    /// <summary>After the attack, the same sandbox still runs an ordinary script correctly.</summary>
    public async Task AssertHealthyAsync()
    {
        var outcome = await _sandbox.RunAsync(new Submission { Code = "[typeof leaked, input.n * 2]", InputJson = "{\"n\":21}" });
        OutcomeAssert.Ok("[\"undefined\",42]", outcome);
    }

    public ValueTask DisposeAsync() => _sandbox.DisposeAsync();
}

internal sealed record AttackResult(Outcome Outcome, TimeSpan Elapsed, long ResidentGrowthBytes, SandboxStatistics Before, SandboxStatistics After)
{
    private long Died(SandboxStatistics s) => s.WorkersRetired.TryGetValue("died", out long n) ? n : 0;

    /// <summary>No worker died during the attack (a worker the pool retired after a limit is not lost).</summary>
    public bool NoWorkerDied => Died(After) == Died(Before);

    /// <summary>No worker had to be started: the attack was stopped inside the worker, which went on.</summary>
    public bool NoWorkerStarted => After.WorkersStarted == Before.WorkersStarted;

    public override string ToString() =>
        $"{Outcome.ToJson()} in {Elapsed.TotalMilliseconds:F0} ms, resident +{ResidentGrowthBytes >> 20} MB, workers started {Before.WorkersStarted}->{After.WorkersStarted}";
}
