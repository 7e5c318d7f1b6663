using Warden.Protocol;
using Warden.Worker;
using Warden.Worker.Engines;

namespace Warden.Tests.Worker;

/// <summary>
/// The worker's supply of prepared engine instances, with fake instances: it prepares for the default memory
/// limit, follows a key that asks for another limit twice in a row, tears down what it prepared for the old
/// limit, and does not thrash when limits alternate.
/// </summary>
public sealed class InstanceSupplyTests
{
    private sealed class FakeInstance(int memoryMb) : IEngineInstance
    {
        public int MemoryMb { get; } = memoryMb;
        public bool Prepared { get; } = Thread.CurrentThread.Name == "warden-instance-preparer";
        public volatile bool Disposed;
        public void Start(ExecuteMessage request, Func<bool> mayContinue) { }
        public EventLoopTurn Tick() => new(EventLoopState.Settled);
        public void Interrupt() { }
        public long MemoryInUseBytes() => 0;

        public long? FuelConsumed() => null;
        public ReportedFailure LocateSyntaxError(ExecuteMessage request, ReportedFailure failure) => failure;
        public void Dispose() => Disposed = true;
    }

    private static (InstanceSupply Supply, List<FakeInstance> Made) NewSupply()
    {
        var made = new List<FakeInstance>();
        var supply = new InstanceSupply(128, memoryMb =>
        {
            var instance = new FakeInstance(memoryMb);
            lock (made)
            {
                made.Add(instance);
            }
            return instance;
        });
        supply.WaitUntilReady();
        return (supply, made);
    }

    private static FakeInstance Take(InstanceSupply supply, int memoryMb) => (FakeInstance)supply.Take(memoryMb);

    [Fact]
    public void TheDefaultLimitIsPreparedAhead()
    {
        var (supply, _) = NewSupply();
        using var _ = supply;
        for (int i = 0; i < 5; i++)
        {
            var instance = Take(supply, 128);
            Assert.Equal(128, instance.MemoryMb);
            Assert.True(instance.Prepared);
            supply.Retire(instance, disposeNow: true);
        }
    }

    [Fact]
    public void AnotherLimitAskedForTwiceInARowIsPreparedFromThenOn()
    {
        var (supply, made) = NewSupply();
        using var _ = supply;
        var first = Take(supply, 64);
        Assert.Equal(64, first.MemoryMb);
        Assert.False(first.Prepared);                     // made on demand
        var second = Take(supply, 64);
        Assert.False(second.Prepared);                    // the switch: still on demand
        // What was prepared for 128 MB is torn down, in the background.
        SpinWait.SpinUntil(() => made.Where(m => m.MemoryMb == 128).All(m => m.Disposed), TimeSpan.FromSeconds(5));
        Assert.All(made.Where(m => m.MemoryMb == 128), m => Assert.True(m.Disposed));
        for (int i = 0; i < 4; i++)
        {
            var next = Take(supply, 64);
            Assert.Equal(64, next.MemoryMb);
            Assert.True(next.Prepared);
            supply.Retire(next, disposeNow: true);
        }
        // And back: the default is on demand once, then prepared again.
        Assert.False(Take(supply, 128).Prepared);
        Assert.False(Take(supply, 128).Prepared);
        Assert.True(Take(supply, 128).Prepared);
    }

    [Fact]
    public void AlternatingLimitsDoNotThrowPreparedInstancesAway()
    {
        var (supply, made) = NewSupply();
        using var _ = supply;
        for (int i = 0; i < 6; i++)
        {
            Assert.True(Take(supply, 128).Prepared);
            Assert.False(Take(supply, 64).Prepared);
        }
        lock (made)
        {
            Assert.DoesNotContain(made, m => m.MemoryMb == 128 && m.Disposed);
        }
    }
}
