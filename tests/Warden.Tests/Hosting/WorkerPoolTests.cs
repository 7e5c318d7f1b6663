using Microsoft.Extensions.Logging.Abstractions;
using Warden.Hosting;

namespace Warden.Tests.Hosting;

/// <summary>
/// The pool's rules with fake workers (no processes): which worker an execution gets, when a worker
/// is retired and why, how the engine and isolation key keep workers apart, and what disposal does.
/// </summary>
public sealed class WorkerPoolTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private static SandboxOptions Options(int maxWorkers = 2, int spares = 0, int queue = 16) => new()
    {
        MaxWorkers = maxWorkers,
        SpareWorkers = spares,
        MaxQueuedExecutions = queue,
    };

    private static WorkerPool<FakeWorker> Pool(SandboxOptions options, FakeStarter starter) =>
        new(options, starter, NullLogger.Instance);

    private static WorkerKey Key(string isolationKey, string engine = "v8") => WorkerKey.For(engine, isolationKey);

    private static long Retired(WorkerPool<FakeWorker> pool, string label) =>
        pool.Statistics().WorkersRetired.GetValueOrDefault(label);

    [Fact]
    public async Task AKeyGetsItsOwnWorkerBack()
    {
        var starter = new FakeStarter();
        await using var pool = Pool(Options(), starter);
        var first = await pool.AcquireAsync(Key("a"), CancellationToken.None);
        pool.Release(first, Key("a"), OutcomeStatus.Ok);
        var second = await pool.AcquireAsync(Key("a"), CancellationToken.None);
        Assert.Same(first, second);
        Assert.Single(starter.Started);
    }

    [Fact]
    public async Task AWorkerNeverPassesToAnotherKey()
    {
        // One slot and no spare: key b can only be served by replacing key a's idle worker.
        var starter = new FakeStarter();
        await using var pool = Pool(Options(maxWorkers: 1), starter);
        var a = await pool.AcquireAsync(Key("a"), CancellationToken.None);
        pool.Release(a, Key("a"), OutcomeStatus.Ok);
        var b = await pool.AcquireAsync(Key("b"), CancellationToken.None);
        Assert.NotSame(a, b);
        Assert.Equal(RetirementReason.OtherKey, a.RetiredFor);
        Assert.Equal(1, Retired(pool, "other_key"));
        Assert.Null(b.RetiredFor);
    }

    [Fact]
    public async Task AnIdleWorkerOfTheSameKeyButAnotherEngineIsNotHandedOut()
    {
        var starter = new FakeStarter();
        await using var pool = Pool(Options(), starter);
        var v8 = await pool.AcquireAsync(Key("a", "v8"), CancellationToken.None);
        pool.Release(v8, Key("a", "v8"), OutcomeStatus.Ok);
        var test = await pool.AcquireAsync(Key("a", "test"), CancellationToken.None);
        Assert.NotSame(v8, test);
        Assert.Equal("test", test.EngineName);
        Assert.Equal(new[] { "v8", "test" }, starter.Started.Select(w => w.EngineName));
        // The v8 worker still waits for its own key.
        pool.Release(test, Key("a", "test"), OutcomeStatus.Ok);
        Assert.Same(v8, await pool.AcquireAsync(Key("a", "v8"), CancellationToken.None));
    }

    [Fact]
    public async Task SparesRunTheDefaultEngineAndServeOnlyIt()
    {
        var options = Options(maxWorkers: 2, spares: 1);
        options.DefaultEngine = "test";
        var starter = new FakeStarter();
        await using var pool = Pool(options, starter);
        await pool.WarmUpAsync();
        var spare = Assert.Single(starter.Started);
        Assert.Equal("test", spare.EngineName);
        Assert.Equal(1, pool.Statistics().IdleWorkers);

        // Another engine does not get the spare: it gets a process of its own.
        var v8 = await pool.AcquireAsync(Key("a", "v8"), CancellationToken.None);
        Assert.NotSame(spare, v8);
        Assert.Equal("v8", v8.EngineName);

        // The default engine gets the spare, and a new spare is started in its place.
        var test = await pool.AcquireAsync(Key("b", "test"), CancellationToken.None);
        Assert.Same(spare, test);
        await pool.WarmUpAsync();
        Assert.Equal(3, starter.Started.Count);
        Assert.Equal("test", starter.Started[^1].EngineName);
        Assert.Equal(3, pool.Statistics().WorkersStarted);
    }

    [Fact]
    public async Task ExecutionsBeyondMaxWorkersWaitInOrderAndTheQueueIsBounded()
    {
        var starter = new FakeStarter();
        await using var pool = Pool(Options(maxWorkers: 1, queue: 2), starter);
        var busy = await pool.AcquireAsync(Key("a"), CancellationToken.None);
        var second = pool.AcquireAsync(Key("a"), CancellationToken.None);
        var third = pool.AcquireAsync(Key("a"), CancellationToken.None);
        Assert.False(second.IsCompleted);
        Assert.Equal(2, pool.Statistics().QueuedExecutions);
        await Assert.ThrowsAsync<SandboxOverloadedException>(() => pool.AcquireAsync(Key("a"), CancellationToken.None));

        pool.Release(busy, Key("a"), OutcomeStatus.Ok);
        Assert.Same(busy, await second.WaitAsync(Patience));
        Assert.False(third.IsCompleted);
        pool.Release(busy, Key("a"), OutcomeStatus.Ok);
        Assert.Same(busy, await third.WaitAsync(Patience));
        Assert.Single(starter.Started);
    }

    [Fact]
    public async Task ACancelledWaiterLeavesTheQueue()
    {
        var starter = new FakeStarter();
        await using var pool = Pool(Options(maxWorkers: 1), starter);
        var busy = await pool.AcquireAsync(Key("a"), CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var waiting = pool.AcquireAsync(Key("a"), cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(0, pool.Statistics().QueuedExecutions);
        pool.Release(busy, Key("a"), OutcomeStatus.Ok);
        Assert.Same(busy, await pool.AcquireAsync(Key("a"), CancellationToken.None));
    }

    [Theory]
    [InlineData(OutcomeStatus.Ok, null)]
    [InlineData(OutcomeStatus.ScriptError, null)]
    [InlineData(OutcomeStatus.Timeout, null)]
    [InlineData(OutcomeStatus.MemoryLimit, "limit_or_failure")]
    [InlineData(OutcomeStatus.OutputLimit, "limit_or_failure")]
    [InlineData(OutcomeStatus.InternalError, "limit_or_failure")]
    public async Task HowAnExecutionEndedDecidesWhetherItsWorkerStays(OutcomeStatus status, string? retiredAs)
    {
        var starter = new FakeStarter();
        await using var pool = Pool(Options(), starter);
        var worker = await pool.AcquireAsync(Key("a"), CancellationToken.None);
        pool.Release(worker, Key("a"), status);
        if (retiredAs is null)
        {
            Assert.Null(worker.RetiredFor);
            Assert.Equal(1, pool.Statistics().IdleWorkers);
        }
        else
        {
            Assert.Equal(1, Retired(pool, retiredAs));
            Assert.Equal(0, pool.Statistics().IdleWorkers);
            Assert.NotSame(worker, await pool.AcquireAsync(Key("a"), CancellationToken.None));
        }
    }

    [Fact]
    public async Task AnExecutionThatEndedWithoutAnOutcomeRetiresItsWorker()
    {
        var starter = new FakeStarter();
        await using var pool = Pool(Options(), starter);
        var worker = await pool.AcquireAsync(Key("a"), CancellationToken.None);
        pool.Release(worker, Key("a"), endedWith: null);
        Assert.Equal(RetirementReason.LimitOrFailure, worker.RetiredFor);
    }

    [Fact]
    public async Task ADeadWorkerIsRetiredWhenReturnedAndWhenFoundIdle()
    {
        var starter = new FakeStarter();
        await using var pool = Pool(Options(), starter);
        var returnedDead = await pool.AcquireAsync(Key("a"), CancellationToken.None);
        returnedDead.IsUsable = false;
        pool.Release(returnedDead, Key("a"), OutcomeStatus.Ok);
        Assert.Equal(RetirementReason.Died, returnedDead.RetiredFor);

        var diesIdle = await pool.AcquireAsync(Key("a"), CancellationToken.None);
        pool.Release(diesIdle, Key("a"), OutcomeStatus.Ok);
        diesIdle.IsUsable = false;
        var next = await pool.AcquireAsync(Key("a"), CancellationToken.None);
        Assert.NotSame(diesIdle, next);
        Assert.Equal(RetirementReason.Died, diesIdle.RetiredFor);
        Assert.Equal(2, Retired(pool, "died"));
    }

    [Fact]
    public async Task AWorkerIsRetiredAfterItsExecutionCount()
    {
        var options = Options();
        options.MaxExecutionsPerWorker = 2;
        var starter = new FakeStarter();
        await using var pool = Pool(options, starter);
        var worker = await pool.AcquireAsync(Key("a"), CancellationToken.None);
        worker.Executions = 1;
        pool.Release(worker, Key("a"), OutcomeStatus.Ok);
        Assert.Same(worker, await pool.AcquireAsync(Key("a"), CancellationToken.None));
        worker.Executions = 2;
        pool.Release(worker, Key("a"), OutcomeStatus.Ok);
        Assert.Equal(RetirementReason.ExecutionCount, worker.RetiredFor);
        Assert.Equal(1, Retired(pool, "execution_count"));
    }

    [Fact]
    public async Task AWorkerIsRetiredAtItsLifetimeWhenReturnedAndWhenIdle()
    {
        var options = Options();
        options.MaxWorkerLifetime = TimeSpan.FromMinutes(10);
        var starter = new FakeStarter();
        await using var pool = Pool(options, starter);
        var old = await pool.AcquireAsync(Key("a"), CancellationToken.None);
        old.StartedAt = DateTime.UtcNow - TimeSpan.FromMinutes(11);
        pool.Release(old, Key("a"), OutcomeStatus.Ok);
        Assert.Equal(RetirementReason.Lifetime, old.RetiredFor);

        var agesIdle = await pool.AcquireAsync(Key("a"), CancellationToken.None);
        pool.Release(agesIdle, Key("a"), OutcomeStatus.Ok);
        agesIdle.StartedAt = DateTime.UtcNow - TimeSpan.FromMinutes(11);
        Assert.NotSame(agesIdle, await pool.AcquireAsync(Key("a"), CancellationToken.None));
        Assert.Equal(RetirementReason.Lifetime, agesIdle.RetiredFor);
        Assert.Equal(2, Retired(pool, "lifetime"));
    }

    [Fact]
    public async Task AWorkerWhoseMemoryGrewAtRestIsRetiredBeforeItIsHandedOut()
    {
        var starter = new FakeStarter();
        await using var pool = Pool(Options(), starter);
        var worker = await pool.AcquireAsync(Key("a"), CancellationToken.None);
        worker.HasOutgrownItsBaseline = true;
        // Not judged on return: a worker tears down a large isolate just after its result.
        pool.Release(worker, Key("a"), OutcomeStatus.Ok);
        Assert.Null(worker.RetiredFor);
        Assert.NotSame(worker, await pool.AcquireAsync(Key("a"), CancellationToken.None));
        Assert.Equal(RetirementReason.MemoryAtRest, worker.RetiredFor);
        Assert.Equal(1, Retired(pool, "memory_at_rest"));
    }

    [Fact]
    public async Task AFailedStartGivesItsSlotBack()
    {
        var starter = new FakeStarter { FailNext = 1 };
        await using var pool = Pool(Options(maxWorkers: 1), starter);
        await Assert.ThrowsAsync<WorkerStartException>(() => pool.AcquireAsync(Key("a"), CancellationToken.None));
        var worker = await pool.AcquireAsync(Key("a"), CancellationToken.None).WaitAsync(Patience);
        Assert.Equal(1, pool.Statistics().WorkersStarted);
        Assert.Equal(1, pool.Statistics().BusyWorkers);
        pool.Release(worker, Key("a"), OutcomeStatus.Ok);
    }

    [Fact]
    public async Task DisposalRetiresBusyAndIdleWorkersAndFailsWaiters()
    {
        var starter = new FakeStarter();
        var pool = Pool(Options(maxWorkers: 2, spares: 1), starter);
        // Each acquisition takes the spare; waiting for its replacement keeps the sequence deterministic.
        await pool.WarmUpAsync();
        var busy = await pool.AcquireAsync(Key("a"), CancellationToken.None);
        await pool.WarmUpAsync();
        var idle = await pool.AcquireAsync(Key("b"), CancellationToken.None);
        await pool.WarmUpAsync();
        pool.Release(idle, Key("b"), OutcomeStatus.Ok);
        var blocked = await pool.AcquireAsync(Key("c"), CancellationToken.None);
        var waiting = pool.AcquireAsync(Key("d"), CancellationToken.None);
        Assert.False(waiting.IsCompleted);
        Assert.Equal(3, starter.Started.Count);

        await pool.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => waiting.WaitAsync(Patience));
        Assert.All(starter.Started, w => Assert.Equal(RetirementReason.Disposed, w.RetiredFor));
        long disposed = Retired(pool, "disposed");
        Assert.Equal(3, disposed);

        // A busy worker that comes back afterwards is not retired a second time.
        pool.Release(busy, Key("a"), OutcomeStatus.Ok);
        pool.Release(blocked, Key("c"), OutcomeStatus.Ok);
        Assert.Equal(disposed, Retired(pool, "disposed"));
        Assert.All(starter.Started, w => Assert.Equal(1, w.Retirements));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => pool.AcquireAsync(Key("a"), CancellationToken.None));
    }

    [Fact]
    public void TheRetirementPolicyIsAFunctionOfTheWorkerTheOutcomeAndTheOptions()
    {
        var options = new SandboxOptions { MaxExecutionsPerWorker = 3, MaxWorkerLifetime = TimeSpan.FromMinutes(1) };
        var now = new DateTime(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);
        var fresh = new FakeWorker("v8", 1) { StartedAt = now, Executions = 1 };
        Assert.Null(RetirementPolicy.AfterExecution(fresh, OutcomeStatus.Timeout, options, now));
        Assert.Equal(RetirementReason.LimitOrFailure, RetirementPolicy.AfterExecution(fresh, OutcomeStatus.MemoryLimit, options, now));
        Assert.Equal(RetirementReason.LimitOrFailure, RetirementPolicy.AfterExecution(fresh, null, options, now));
        // V8's heap limit retires its worker; quickjs's (its store's cap, dropped with the execution) does not,
        // but its worker's own growth past the budget (limit process) does.
        Assert.Equal(RetirementReason.LimitOrFailure, RetirementPolicy.AfterExecution(fresh, OutcomeStatus.MemoryLimit, options, now, atEngineMemoryCap: true));
        var quickJs = new FakeWorker("quickjs", 4) { StartedAt = now, Executions = 1 };
        Assert.Null(RetirementPolicy.AfterExecution(quickJs, OutcomeStatus.MemoryLimit, options, now, atEngineMemoryCap: true));
        Assert.Equal(RetirementReason.LimitOrFailure, RetirementPolicy.AfterExecution(quickJs, OutcomeStatus.MemoryLimit, options, now));
        Assert.Equal(RetirementReason.LimitOrFailure, RetirementPolicy.AfterExecution(quickJs, OutcomeStatus.OutputLimit, options, now, atEngineMemoryCap: true));
        Assert.Equal(RetirementReason.Lifetime, RetirementPolicy.AfterExecution(fresh, OutcomeStatus.Ok, options, now.AddMinutes(1)));
        Assert.Null(RetirementPolicy.WhileIdle(fresh, options, now));

        var worn = new FakeWorker("v8", 2) { StartedAt = now, Executions = 3 };
        Assert.Equal(RetirementReason.ExecutionCount, RetirementPolicy.AfterExecution(worn, OutcomeStatus.Ok, options, now));

        // Idle: death first, then memory at rest (even when also expired), then age.
        var grown = new FakeWorker("v8", 3) { StartedAt = now, HasOutgrownItsBaseline = true };
        Assert.Equal(RetirementReason.MemoryAtRest, RetirementPolicy.WhileIdle(grown, options, now.AddHours(1)));
        grown.IsUsable = false;
        Assert.Equal(RetirementReason.Died, RetirementPolicy.WhileIdle(grown, options, now));
        Assert.Equal(RetirementReason.Died, RetirementPolicy.AfterExecution(grown, OutcomeStatus.Ok, options, now));
    }

    [Fact]
    public void TheTestEngineIsOfferedOnlyWhenEnabled()
    {
        Assert.Equal(new[] { "v8", "quickjs" }, EngineCatalog.Offered(new SandboxOptions()));
        Assert.Equal(new[] { "v8", "quickjs", "test" }, EngineCatalog.Offered(new SandboxOptions { EnableTestEngine = true }));
    }

    [Fact]
    public void KeysOfTheSameNameButAnotherEngineOrNoNameDiffer()
    {
        Assert.Equal(WorkerKey.For("v8", "a"), WorkerKey.For("v8", "a"));
        Assert.NotEqual(WorkerKey.For("v8", "a"), WorkerKey.For("test", "a"));
        // No caller key can name the keyless group.
        Assert.NotEqual(WorkerKey.For("v8", null), WorkerKey.For("v8", "anon"));
    }

    internal sealed class FakeWorker(string engine, int pid) : IPooledWorker
    {
        public int Pid { get; } = pid;
        public string EngineName { get; } = engine;
        public DateTime StartedAt { get; set; } = DateTime.UtcNow;
        public int Executions { get; set; }
        public bool IsUsable { get; set; } = true;
        public bool HasOutgrownItsBaseline { get; set; }
        public bool WasKilledBySeccomp => false;
        public RetirementReason? RetiredFor { get; private set; }
        public int Retirements { get; private set; }

        public ValueTask RetireAsync(string reason)
        {
            Retirements++;
            RetiredFor ??= Enum.GetValues<RetirementReason>().Single(r => r.Text() == reason);
            IsUsable = false;
            return ValueTask.CompletedTask;
        }
    }

    internal sealed class FakeStarter : IWorkerStarter<FakeWorker>
    {
        private int _pids;

        /// <summary>How many of the next starts fail.</summary>
        public int FailNext { get; set; }

        public List<FakeWorker> Started { get; } = [];

        public Task<FakeWorker> StartAsync(string engine, CancellationToken cancellationToken)
        {
            lock (Started)
            {
                if (FailNext > 0)
                {
                    FailNext--;
                    throw new WorkerStartException("the fake worker was told to fail");
                }
                var worker = new FakeWorker(engine, Interlocked.Increment(ref _pids));
                Started.Add(worker);
                return Task.FromResult(worker);
            }
        }
    }
}
