using System.Diagnostics;

namespace Warden.Tests.Hosting;

/// <summary>Tests that need a sandbox of their own: concurrency, cancellation, crashes, disposal.</summary>
[Collection("sandbox")]
public sealed class SandboxLifecycleTests
{
    private static SandboxOptions Small() => new() { MaxWorkers = 2, SpareWorkers = 1 };

    [Fact]
    public async Task ManyCallersAtOnceAllGetTheirOwnResult()
    {
        await using var sandbox = new Sandbox(Small());
        var runs = Enumerable.Range(0, 40).Select(i => Task.Run(() => sandbox.RunAsync(new Submission
        {
            Code = "new Promise(r => setTimeout(() => r(input * 2), input % 3))",
            InputJson = i.ToString(System.Globalization.CultureInfo.InvariantCulture),
            IsolationKey = i % 4 == 0 ? "even-key" : null,
        }))).ToArray();
        var outcomes = await Task.WhenAll(runs);
        for (int i = 0; i < outcomes.Length; i++)
        {
            OutcomeAssert.Ok((i * 2).ToString(System.Globalization.CultureInfo.InvariantCulture), outcomes[i]);
        }
        // MaxWorkers (2) executing + SpareWorkers (1) warm.
        Assert.True(sandbox.WorkerPids.Count <= 3, $"{sandbox.WorkerPids.Count} workers alive");
    }

    [Fact]
    public async Task HogsOccupyOnlyTheirOwnWorker()
    {
        await using var sandbox = new Sandbox(Small());
        await sandbox.WarmUpAsync();
        var hog = sandbox.RunAsync(new Submission { Code = "for(;;){}", Limits = new ExecutionLimits(TimeoutMs: 4000) });
        await Task.Delay(100);
        // The hog took the spare worker; its replacement starts in the background.
        await sandbox.WarmUpAsync();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < 5; i++)
        {
            OutcomeAssert.Ok("2", await sandbox.RunAsync(new Submission { Code = "1+1" }));
        }
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3.5), $"benign runs waited for the hog: {clock.Elapsed}");
        OutcomeAssert.Status(OutcomeStatus.Timeout, await hog);
    }

    [Fact]
    public async Task CancellationKillsTheRunningExecution()
    {
        await using var sandbox = new Sandbox(Small());
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var clock = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            sandbox.RunAsync(new Submission { Code = "for(;;){}", Limits = new ExecutionLimits(TimeoutMs: 30_000) }, cts.Token));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        OutcomeAssert.Ok("3", await sandbox.RunAsync(new Submission { Code = "1+2" }));
    }

    [Fact]
    public async Task AWorkerKilledFromOutsideFailsOnlyItsOwnExecution()
    {
        await using var sandbox = new Sandbox(new SandboxOptions { MaxWorkers = 1, SpareWorkers = 0 });
        OutcomeAssert.Ok("0", await sandbox.RunAsync(new Submission { Code = "0" }));
        int pid = Assert.Single(sandbox.WorkerPids);
        var victim = sandbox.RunAsync(new Submission { Code = "for(;;){}", Limits = new ExecutionLimits(TimeoutMs: 30_000) });
        await Task.Delay(500);
        Assert.False(victim.IsCompleted);
        var clock = Stopwatch.StartNew();
        Process.GetProcessById(pid).Kill();
        var outcome = await victim;
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        OutcomeAssert.Status(OutcomeStatus.InternalError, outcome);
        Assert.Contains("signal 9", outcome.Error!.Message);
        var next = await sandbox.RunAsync(new Submission { Code = "'fine'" });
        OutcomeAssert.Ok("\"fine\"", next);
        Assert.NotEqual(pid, next.WorkerPid);
    }

    [Fact]
    public async Task AnIdleWorkerThatDiedIsReplacedWithoutFailingAnyone()
    {
        await using var sandbox = new Sandbox(new SandboxOptions { MaxWorkers = 1, SpareWorkers = 0 });
        int pid = (await sandbox.RunAsync(new Submission { Code = "1" })).WorkerPid;
        Process.GetProcessById(pid).Kill();
        await Task.Delay(300);
        var next = await sandbox.RunAsync(new Submission { Code = "2" });
        OutcomeAssert.Ok("2", next);
        Assert.NotEqual(pid, next.WorkerPid);
    }

    [Fact]
    public async Task DisposingStopsEveryWorker()
    {
        var sandbox = new Sandbox(Small());
        await sandbox.WarmUpAsync();
        var running = sandbox.RunAsync(new Submission { Code = "for(;;){}", Limits = new ExecutionLimits(TimeoutMs: 30_000) });
        await Task.Delay(300);
        var pids = sandbox.WorkerPids;
        Assert.NotEmpty(pids);
        await sandbox.DisposeAsync();
        foreach (var pid in pids)
        {
            Assert.False(IsAlive(pid), $"worker {pid} outlived the sandbox");
        }
        var outcome = await running;
        Assert.NotEqual(OutcomeStatus.Ok, outcome.Status);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => sandbox.RunAsync(new Submission { Code = "1" }));
    }

    [Fact]
    public async Task TooManyWaitingExecutionsAreRefused()
    {
        await using var sandbox = new Sandbox(new SandboxOptions { MaxWorkers = 1, SpareWorkers = 0, MaxQueuedExecutions = 1 });
        var busy = sandbox.RunAsync(new Submission { Code = "for(;;){}", Limits = new ExecutionLimits(TimeoutMs: 1500) });
        await Task.Delay(200);
        var queued = sandbox.RunAsync(new Submission { Code = "1" });
        await Task.Delay(100);
        await Assert.ThrowsAsync<SandboxOverloadedException>(() => sandbox.RunAsync(new Submission { Code = "2" }));
        OutcomeAssert.Status(OutcomeStatus.Timeout, await busy);
        OutcomeAssert.Ok("1", await queued);
    }

    [Fact]
    public async Task WorkersAreRecycledAfterTheirExecutionCount()
    {
        await using var sandbox = new Sandbox(new SandboxOptions { MaxWorkers = 1, SpareWorkers = 0, MaxExecutionsPerWorker = 2 });
        var pids = new List<int>();
        for (int i = 0; i < 4; i++)
        {
            pids.Add((await sandbox.RunAsync(new Submission { Code = "1" })).WorkerPid);
        }
        Assert.Equal(pids[0], pids[1]);
        Assert.NotEqual(pids[1], pids[2]);
        Assert.Equal(pids[2], pids[3]);
    }

    [Fact]
    public async Task ARetiringWorkerIsReplacedByTheWarmSpareWhenEverySlotIsBusy()
    {
        // One execution slot, one spare on top: the worker retires after two executions, and the third
        // execution must run in a process that was already running (no start-up on the request path).
        await using var sandbox = new Sandbox(new SandboxOptions { MaxWorkers = 1, SpareWorkers = 1, MaxExecutionsPerWorker = 2 });
        await sandbox.WarmUpAsync();
        int first = (await sandbox.RunAsync(new Submission { Code = "1" })).WorkerPid;
        Assert.Equal(first, (await sandbox.RunAsync(new Submission { Code = "2" })).WorkerPid);
        await sandbox.WarmUpAsync();
        var before = sandbox.WorkerPids;
        Assert.DoesNotContain(first, before);
        var third = await sandbox.RunAsync(new Submission { Code = "3" });
        OutcomeAssert.Ok("3", third);
        Assert.Contains(third.WorkerPid, before);
    }

    [Fact]
    public async Task SparesDoNotAddExecutionSlots()
    {
        // MaxWorkers bounds executions at once; the spare never runs a second one beside it.
        await using var sandbox = new Sandbox(new SandboxOptions { MaxWorkers = 1, SpareWorkers = 1 });
        await sandbox.WarmUpAsync();
        var busy = sandbox.RunAsync(new Submission { Code = "for(;;){}", IsolationKey = "a", Limits = new ExecutionLimits(TimeoutMs: 1500) });
        await Task.Delay(300);
        var queued = sandbox.RunAsync(new Submission { Code = "1", IsolationKey = "b" });
        await Task.Delay(300);
        var stats = sandbox.Statistics;
        Assert.Equal(1, stats.BusyWorkers);
        Assert.Equal(1, stats.QueuedExecutions);
        Assert.False(queued.IsCompleted);
        OutcomeAssert.Status(OutcomeStatus.Timeout, await busy);
        OutcomeAssert.Ok("1", await queued);
        Assert.True(sandbox.WorkerPids.Count <= 2, $"{sandbox.WorkerPids.Count} workers alive");
    }

    [Fact]
    public async Task IdleWorkersAreRetiredAtTheirLifetime()
    {
        await using var sandbox = new Sandbox(new SandboxOptions { MaxWorkers = 1, SpareWorkers = 0, MaxWorkerLifetime = TimeSpan.FromSeconds(2) });
        int first = (await sandbox.RunAsync(new Submission { Code = "1" })).WorkerPid;
        await Task.Delay(3500);
        // Retired by the pool's own timer, before anything asked for a worker again.
        Assert.DoesNotContain(first, sandbox.WorkerPids);
        int second = (await sandbox.RunAsync(new Submission { Code = "1" })).WorkerPid;
        Assert.NotEqual(first, second);
    }

    [Fact]
    public async Task WorkersInheritNoneOfTheHostsEnvironment()
    {
        Environment.SetEnvironmentVariable("WARDEN_TEST_SECRET", "hunter2");
        await using var sandbox = new Sandbox(Small());
        var outcome = await sandbox.RunAsync(new Submission { Code = "1" });
        // Both the process the host started (the launcher, now bubblewrap) and the worker itself.
        var environ = File.ReadAllText($"/proc/{outcome.WorkerPid}/environ")
            + File.ReadAllText($"/proc/{WorkerProcessInspector.FindWorker(outcome.WorkerPid)}/environ");
        Assert.DoesNotContain("hunter2", environ);
        Assert.Contains("DOTNET_EnableDiagnostics=0", environ);
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
