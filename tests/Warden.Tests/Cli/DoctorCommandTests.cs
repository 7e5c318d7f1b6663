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
    [InlineData("memory pids cpu", false)]
    [InlineData("memory pids", true)]
    [InlineData(null, true)]
    public void AnOrdinaryUserIsToldExactlyHowToGetADelegatedCgroup(string? userManagerControllers, bool needsAdministrator)
    {
        // A machine where systemd is the init system, with the user's manager at its usual place.
        string root = Directory.CreateTempSubdirectory("warden-systemd-").FullName;
        try
        {
            string runtime = Directory.CreateDirectory(Path.Combine(root, "run-systemd-system")).FullName;
            string cgroups = Path.Combine(root, "cgroup");
            string manager = Directory.CreateDirectory(Path.Combine(cgroups, "user.slice", "user-1000.slice", "user@1000.service")).FullName;
            if (userManagerControllers is not null)
            {
                File.WriteAllText(Path.Combine(manager, "cgroup.controllers"), userManagerControllers + "\n");
            }
            string remedy = Warden.Hosting.Isolation.IsolationProbe.DelegationRemedy(1000, "/usr/bin/systemd-run", runtime, cgroups);
            Assert.Contains("/usr/bin/systemd-run --user --scope -p Delegate=yes -- ./warden run", remedy);
            Assert.Equal(needsAdministrator, remedy.Contains("systemctl edit user@.service", StringComparison.Ordinal));
            if (userManagerControllers == "memory pids")
            {
                Assert.Contains("lacks the cpu controller", remedy);
                Assert.Contains("Delegate=pids memory cpu", remedy);
            }
            // Without systemd (or without systemd-run), the general advice.
            Assert.DoesNotContain("systemd-run", Warden.Hosting.Isolation.IsolationProbe.DelegationRemedy(1000, "/usr/bin/systemd-run", Path.Combine(root, "absent"), cgroups));
            Assert.DoesNotContain("systemd-run", Warden.Hosting.Isolation.IsolationProbe.DelegationRemedy(1000, null, runtime, cgroups));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
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
