using System.Diagnostics;
using Warden.Hosting;

namespace Warden.Tests.Hosting;

/// <summary>The hard deadline's question "has the worker already answered?" reads the pipe's backlog; it must see bytes the host has not read.</summary>
public sealed class PipeBacklogTests
{
    [Fact]
    public async Task BytesWrittenButNotReadAreCounted()
    {
        using var process = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", "printf 'abcde'; sleep 5"]) { RedirectStandardOutput = true })!;
        try
        {
            int unread = 0;
            for (int i = 0; i < 100 && unread == 0; i++)
            {
                await Task.Delay(20);
                unread = PipeBacklog.UnreadBytes(process.StandardOutput.BaseStream);
            }
            Assert.Equal(5, unread);
            var buffer = new byte[5];
            await process.StandardOutput.BaseStream.ReadExactlyAsync(buffer);
            Assert.Equal(0, PipeBacklog.UnreadBytes(process.StandardOutput.BaseStream));
        }
        finally
        {
            process.Kill();
        }
    }

    [Fact]
    public void AStreamThatIsNoPipeHasNoBacklog() => Assert.Equal(0, PipeBacklog.UnreadBytes(new MemoryStream([1, 2, 3])));
}

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
}
