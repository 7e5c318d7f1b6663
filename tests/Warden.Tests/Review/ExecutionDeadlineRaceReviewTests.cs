using Warden.Hosting;

namespace Warden.Tests.Review;

public sealed class ExecutionDeadlineRaceReviewTests
{
    /// <summary>
    /// A deadline that fired just before the exchange ended must not kill after Dispose returned (the old
    /// CancellationTokenRegistration's Dispose waited for a running callback; Timer.Dispose() does not).
    /// </summary>
    [Fact]
    public async Task AKillInFlightFinishesBeforeDisposeReturns()
    {
        var entered = new ManualResetEventSlim();
        bool killed = false;
        var deadline = new ExecutionDeadline(() => { entered.Set(); Thread.Sleep(300); Volatile.Write(ref killed, true); }, () => false, TimeSpan.Zero);
        deadline.Arm(TimeSpan.FromMilliseconds(10));
        Assert.True(entered.Wait(5000));
        deadline.Dispose();
        bool killedWhenDisposeReturned = Volatile.Read(ref killed);
        await Task.Delay(500);
        Assert.True(Volatile.Read(ref killed));
        Assert.True(killedWhenDisposeReturned, "the kill completed only after Dispose had returned: the worker may already serve the next execution");
    }
}
