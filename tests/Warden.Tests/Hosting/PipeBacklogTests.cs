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
