using System.Text;
using Warden.Cli;

namespace Warden.Tests.Cli;

/// <summary>`warden doctor` and the --isolation choice of `warden run`.</summary>
[Collection("sandbox")]
public sealed class DoctorCommandTests
{
    private static async Task<(int Exit, string Stdout)> RunAsync(params string[] args)
    {
        using var stdout = new MemoryStream();
        using var stderr = new StringWriter();
        int exit = await WardenCommandLine.InvokeAsync(args, stdout, stderr, new MemoryStream());
        return (exit, Encoding.UTF8.GetString(stdout.ToArray()));
    }

    [Fact]
    public async Task DoctorPrintsEveryLayerAndSucceedsWhenAllAreActive()
    {
        var (exit, stdout) = await RunAsync("doctor");
        Assert.Equal(0, exit);
        foreach (var layer in new[] { "platform", "unprivileged-uid", "namespaces", "seccomp", "cgroup" })
        {
            Assert.Matches($@"\[active \] {layer}\s", stdout);
        }
        Assert.DoesNotContain("MISSING", stdout);
        Assert.Contains("OK: every layer is active.", stdout);
    }

    [Fact]
    public async Task DoctorSelfTestAttacksALiveWorker()
    {
        var (exit, stdout) = await RunAsync("doctor", "--self-test");
        Assert.Equal(0, exit);
        Assert.Contains("[refused] seccomp    execve /bin/sh", stdout);
        Assert.Contains("[refused] namespaces read /etc/passwd", stdout);
        Assert.DoesNotContain("ALLOWED", stdout);
        Assert.Contains("connections accepted by the host's loopback listener: 0", stdout);
        Assert.Contains("JavaScript in fresh isolates afterwards: ok, ok, ok", stdout);
        Assert.Contains("self-test passed", stdout);
    }

    [Theory]
    [InlineData("none", 0)]
    [InlineData("best-effort", 0)]
    [InlineData("required", 0)]
    [InlineData("off", 64)]
    public async Task RunTakesAnIsolationChoiceByName(string mode, int expectedExit)
    {
        string script = Path.Combine(Path.GetTempPath(), $"warden-iso-{Guid.NewGuid():n}.js");
        File.WriteAllText(script, "6 * 7");
        try
        {
            var (exit, stdout) = await RunAsync("run", script, "--isolation", mode);
            Assert.Equal(expectedExit, exit);
            Assert.Contains(expectedExit == 0 ? "\"result\":42" : "invalid_request", stdout);
        }
        finally
        {
            File.Delete(script);
        }
    }
}
