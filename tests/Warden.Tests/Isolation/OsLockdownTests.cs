using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Warden.Tests.Isolation;

/// <summary>
/// The OS layer around every worker, checked from both sides: from inside (the lockdown self-test
/// attempts each forbidden operation with raw system calls) and from the host (what the kernel says
/// about the live worker process in /proc). These run on a machine where every layer is available
/// (test.sh installs bubblewrap); a missing layer fails them, it does not skip them.
/// </summary>
[Collection("sandbox")]
public sealed partial class OsLockdownTests(SandboxFixture fixture)
{
    [Fact]
    public async Task EveryLayerIsActiveOnThisMachine()
    {
        var report = Sandbox.ProbeIsolation();
        Assert.True(report.AllActive, string.Join("; ", report.Missing.Select(l => $"{l.Name}: {l.Detail}")));
        Assert.Equal(["platform", "unprivileged-uid", "namespaces", "seccomp", "cgroup"], report.Layers.Select(l => l.Name));
        await fixture.AssertHealthyAsync();
    }

    [Fact]
    public async Task SelfTestRefusesEveryForbiddenOperationFromInsideALiveWorker()
    {
        var clock = Stopwatch.StartNew();
        var report = await Sandbox.RunLockdownSelfTestAsync();
        clock.Stop();

        Assert.Null(report.Error);
        Assert.True(report.SeccompInstalled);
        var allowed = report.Probes.Where(p => !p.Refused).Select(p => $"{p.Phase}/{p.Name}: {p.Detail}").ToList();
        Assert.True(allowed.Count == 0, "allowed: " + string.Join("; ", allowed));
        // The attempts the lockdown exists for, each refused after seccomp.
        var afterSeccomp = report.Probes.Where(p => p.Phase == "seccomp").Select(p => p.Name).ToHashSet();
        foreach (var name in new[] { "read /etc/passwd", "connect to the host's loopback", "execve /bin/sh", "fork", "vfork", "clone a process",
            "ptrace a process", "mount a tmpfs", "write a file", "unshare a user namespace", "bpf", "io_uring_setup", "userfaultfd", "memfd_create", "process_vm_readv" })
        {
            Assert.Contains(name, afterSeccomp);
        }
        // Each layer on its own: before seccomp, the namespaces already hide the host's files and
        // network (the host's listener is in another network namespace) and the mounts are read-only.
        Assert.Contains(report.Probes, p => p is { Phase: "namespaces", Name: "read /etc/passwd", Detail: "errno 2 (ENOENT)" });
        Assert.Contains(report.Probes, p => p is { Phase: "namespaces", Name: "write a file", Detail: "errno 30 (EROFS)" });
        Assert.Contains(report.Probes, p => p.Phase == "namespaces" && p.Name == "connect to the host's loopback" && p.Refused);
        Assert.Equal(0, report.ConnectionsAccepted);
        // Threads are allowed, so the cgroup's task cap (128, ~15 in use) is what stops a flood of them.
        var flood = Assert.Single(report.Probes, p => p.Name == "start 1000 threads");
        Assert.Matches("^stopped after [0-9]{2,3} ", flood.Detail);
        Assert.True(int.Parse(flood.Detail.Split(' ')[2]) < 128, flood.Detail);
        // JavaScript still runs, in fresh isolates, in the worker that was attacked.
        Assert.Equal([OutcomeStatus.Ok, OutcomeStatus.Ok, OutcomeStatus.Ok], report.ScriptRuns);
        Assert.True(report.Passed);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"self-test took {clock.Elapsed}");
        await fixture.AssertHealthyAsync();
    }

    [Fact]
    public async Task TheHostSeesAnUnprivilegedFilteredWorkerInItsOwnNamespaces()
    {
        Environment.SetEnvironmentVariable("WARDEN_TEST_SECRET", "hunter2");
        // The host application's own configuration sits next to the worker's files.
        string decoy = Path.Combine(AppContext.BaseDirectory, "appsettings.Secret.json");
        File.WriteAllText(decoy, "{\"ConnectionStrings\":{\"Db\":\"password=hunter2\"}}");
        int worker;
        await using var sandbox = new Sandbox(new SandboxOptions { MaxWorkers = 1, SpareWorkers = 0 });
        try
        {
            var outcome = await sandbox.RunAsync(new Submission { Code = "1" });
            OutcomeAssert.Status(OutcomeStatus.Ok, outcome);
            worker = WorkerProcessInspector.FindWorker(outcome.WorkerPid);
        }
        finally
        {
            File.Delete(decoy);
        }
        var workerFiles = Directory.GetFiles($"/proc/{worker}/root/warden/worker").Select(Path.GetFileName).ToList();
        Assert.Contains("Warden.Worker.dll", workerFiles);
        Assert.Contains("ClearScript.V8.dll", workerFiles);
        Assert.DoesNotContain("appsettings.Secret.json", workerFiles);
        Assert.DoesNotContain("Warden.Tests.dll", workerFiles);
        // Resource limits it set on itself after warm-up.
        var limits = File.ReadAllLines($"/proc/{worker}/limits");
        Assert.Matches(@"^Max core file size\s+0\s+0\s", limits.Single(l => l.StartsWith("Max core file size")));
        Assert.Matches(@"^Max file size\s+0\s+0\s", limits.Single(l => l.StartsWith("Max file size")));
        Assert.Matches(@"^Max open files\s+[0-9]{2,3}\s+[0-9]{2,3}\s", limits.Single(l => l.StartsWith("Max open files")));
        Assert.Matches(@"^Max locked memory\s+0\s+0\s", limits.Single(l => l.StartsWith("Max locked memory")));

        Assert.Equal("65534 65534 65534 65534", WorkerProcessInspector.Status(worker, "Uid"));
        Assert.Equal("65534 65534 65534 65534", WorkerProcessInspector.Status(worker, "Gid"));
        Assert.Equal("0000000000000000", WorkerProcessInspector.Status(worker, "CapEff"));
        Assert.Equal("0000000000000000", WorkerProcessInspector.Status(worker, "CapPrm"));
        Assert.Equal("1", WorkerProcessInspector.Status(worker, "NoNewPrivs"));
        Assert.Equal("2", WorkerProcessInspector.Status(worker, "Seccomp")); // 2 = filter mode
        foreach (var kind in new[] { "user", "mnt", "pid", "net", "ipc", "uts" })
        {
            Assert.NotEqual(WorkerProcessInspector.Namespace(Environment.ProcessId, kind), WorkerProcessInspector.Namespace(worker, kind));
        }
        // Its filesystem: the runtime, libraries and its own binaries; nothing of the host's.
        var root = Directory.GetFileSystemEntries($"/proc/{worker}/root").Select(Path.GetFileName).Order().ToList();
        Assert.Equal(["dev", "lib", "lib64", "proc", "usr", "warden"], root);
        Assert.False(Directory.Exists($"/proc/{worker}/root/etc"));
        // Read-only even for root on the host side: the worker's view of its own binaries cannot be changed.
        var write = Record.Exception(() => File.WriteAllText($"/proc/{worker}/root/warden/x", "x"));
        Assert.Contains("Read-only file system", Assert.IsType<IOException>(write).Message);
        // Its environment: only what the runtime needs (bubblewrap adds PWD for its --chdir).
        var environ = File.ReadAllText($"/proc/{worker}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(environ.Where(v => v != "PWD=/warden/worker"), v => Assert.StartsWith("DOTNET_", v));
        Assert.DoesNotContain(environ, v => v.Contains("hunter2", StringComparison.Ordinal));
        Assert.Contains("DOTNET_EnableDiagnostics=0", environ);
        // Its cgroup: its own, under this host's, with the task and CPU caps.
        string memoryGroup = File.ReadLines($"/proc/{worker}/cgroup").Single(l => l.Contains(":memory:", StringComparison.Ordinal));
        Assert.Matches($"/warden-{Environment.ProcessId}/w[0-9]+$", memoryGroup);
        string pidsGroup = File.ReadLines($"/proc/{worker}/cgroup").Single(l => l.Contains(":pids:", StringComparison.Ordinal)).Split(':')[2];
        Assert.Equal("128", File.ReadAllText($"/sys/fs/cgroup/pids{pidsGroup}/pids.max").Trim());
        string cpuGroup = File.ReadLines($"/proc/{worker}/cgroup").Single(l => l.Split(':')[1].Split(',').Contains("cpu")).Split(':')[2];
        Assert.Equal("150000", File.ReadAllText($"/sys/fs/cgroup/cpu{cpuGroup}/cpu.cfs_quota_us").Trim());
        await fixture.AssertHealthyAsync();
    }

    [LibraryImport("libc", EntryPoint = "dup")]
    private static partial int Dup(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [Fact]
    public async Task DescriptorsTheHostInheritedNeverReachAWorker()
    {
        // A descriptor without close-on-exec, as a host may inherit from whatever started it.
        string secret = Path.Combine(Path.GetTempPath(), "warden-secret-" + Guid.NewGuid().ToString("n"));
        File.WriteAllText(secret, "secret");
        using var file = File.OpenHandle(secret);
        int leaked = Dup((int)file.DangerousGetHandle());
        Assert.True(leaked > 2);
        try
        {
            await using var sandbox = new Sandbox(new SandboxOptions { MaxWorkers = 1, SpareWorkers = 0 });
            var outcome = await sandbox.RunAsync(new Submission { Code = "1" });
            OutcomeAssert.Status(OutcomeStatus.Ok, outcome);
            int worker = WorkerProcessInspector.FindWorker(outcome.WorkerPid);
            var targets = Directory.GetFiles($"/proc/{worker}/fd").Select(f => new FileInfo(f).LinkTarget ?? "").ToList();
            Assert.DoesNotContain(targets, t => t.Contains("warden-secret-", StringComparison.Ordinal));
            Assert.DoesNotContain(targets, t => t.StartsWith("socket:", StringComparison.Ordinal));
        }
        finally
        {
            Close(leaked);
            File.Delete(secret);
        }
    }

    [Fact]
    public async Task AWorkerDiesWithItsHost()
    {
        // A real host process (the CLI) running a script that would run for a minute, killed with SIGKILL.
        string script = Path.Combine(Path.GetTempPath(), $"warden-orphan-{Guid.NewGuid():n}.js");
        File.WriteAllText(script, "while (true) {}");
        var cli = Path.Combine(AppContext.BaseDirectory, "Warden.Cli.dll");
        var info = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { cli, "run", script, "--timeout", "60000" })
        {
            info.ArgumentList.Add(a);
        }
        using var host = Process.Start(info)!;
        try
        {
            int worker = 0;
            var deadline = Stopwatch.StartNew();
            while (worker == 0 && deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(100);
                try
                {
                    worker = WorkerProcessInspector.FindWorker(host.Id);
                }
                catch (InvalidOperationException)
                {
                }
            }
            Assert.NotEqual(0, worker);
            await Task.Delay(500); // let it get busy
            host.Kill();
            var killed = Stopwatch.StartNew();
            while (WorkerProcessInspector.IsAlive(worker) && killed.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(20);
            }
            Assert.False(WorkerProcessInspector.IsAlive(worker), "the worker outlived its host");
            Assert.True(killed.Elapsed < TimeSpan.FromSeconds(3), $"the worker died {killed.Elapsed} after its host");
        }
        finally
        {
            if (!host.HasExited)
            {
                host.Kill(entireProcessTree: true);
            }
            File.Delete(script);
        }
        await fixture.AssertHealthyAsync();
    }

    [Fact]
    public async Task AForbiddenSystemCallKillsTheWorkerAndIsLoggedAsASecurityEvent()
    {
        // getrusage is one of the calls a worker makes only while executing: with it missing from
        // the allowlist, the first execution makes a call outside the filter, as an exploit would.
        var logger = new RecordingLogger<Sandbox>();
        await using var sandbox = new Sandbox(new SandboxOptions { MaxWorkers = 1, SpareWorkers = 0, SeccompOmit = ["getrusage"] }, logger);
        var clock = Stopwatch.StartNew();
        var outcome = await sandbox.RunAsync(new Submission { Code = "1 + 1" });
        var error = OutcomeAssert.Failed(OutcomeStatus.InternalError, "InternalError", outcome);
        Assert.Contains("seccomp", error.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        Assert.Contains(logger.Lines, l => l.Level == Microsoft.Extensions.Logging.LogLevel.Error && l.Message.StartsWith("SECURITY: worker", StringComparison.Ordinal) && l.Message.Contains("seccomp"));
        await fixture.AssertHealthyAsync();
    }
}
