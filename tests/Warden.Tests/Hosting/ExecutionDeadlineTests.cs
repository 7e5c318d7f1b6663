using Warden.Hosting;

namespace Warden.Tests.Hosting;

/// <summary>The hard deadline kills on time, waits (boundedly) for an answer the host has not read yet, and never fires once disposed.</summary>
public sealed class ExecutionDeadlineTests
{
    [Fact]
    public async Task ItExpiresOnTimeWhenNoAnswerIsPending()
    {
        var expired = new TaskCompletionSource();
        using var deadline = new ExecutionDeadline(() => expired.SetResult(), () => false, TimeSpan.FromSeconds(1));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        deadline.Arm(TimeSpan.FromMilliseconds(50));
        await expired.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.InRange(clock.ElapsedMilliseconds, 40, 2000);
    }

    [Fact]
    public async Task APendingAnswerDefersItBoundedly()
    {
        var expired = new TaskCompletionSource();
        int asked = 0;
        using var deadline = new ExecutionDeadline(() => expired.SetResult(), () => { Interlocked.Increment(ref asked); return true; }, TimeSpan.FromMilliseconds(200));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        deadline.Arm(TimeSpan.FromMilliseconds(20));
        await expired.Task.WaitAsync(TimeSpan.FromSeconds(10));
        // An answer that never gets read cannot hold the deadline off for longer than the bound.
        Assert.InRange(clock.ElapsedMilliseconds, 200, 3000);
        Assert.True(asked >= 2);
    }

    [Fact]
    public async Task ADisposedDeadlineNeverFires()
    {
        bool fired = false;
        var deadline = new ExecutionDeadline(() => fired = true, () => false, TimeSpan.Zero);
        deadline.Arm(TimeSpan.FromMilliseconds(30));
        deadline.Dispose();
        await Task.Delay(150);
        Assert.False(fired);
    }

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
