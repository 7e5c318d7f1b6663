using Warden.Hosting;
using Warden.Hosting.Isolation;

namespace Warden.Tests.Hosting.Isolation;

/// <summary>
/// The cgroup drivers' file protocol, against a directory tree shaped like cgroupfs (the real v1
/// hierarchy is exercised by the lockdown and memory-cap tests; this machine has no v2 controllers,
/// so v2 is covered here only).
/// </summary>
public sealed class CgroupDriverTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("warden-cgroupfs-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Group(string path, params (string File, string Text)[] files)
    {
        string directory = Path.Combine(_root, path);
        Directory.CreateDirectory(directory);
        foreach (var (file, text) in files)
        {
            File.WriteAllText(Path.Combine(directory, file), text);
        }
        return directory;
    }

    [Fact]
    public void MountsAndOwnGroupsAreJoined()
    {
        string mountinfo = Path.Combine(_root, "mountinfo");
        File.WriteAllLines(mountinfo,
        [
            "30 25 0:26 / /sys/fs/cgroup rw,nosuid - tmpfs tmpfs rw,mode=755",
            "31 30 0:27 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
            "32 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct",
            "33 30 0:29 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids",
            "34 30 0:30 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
            "35 25 0:31 / /mnt/with\\040space rw - ext4 /dev/sda1 rw",
        ]);
        string cgroup = Path.Combine(_root, "cgroup");
        File.WriteAllLines(cgroup, ["4:memory:/jobs/42", "3:cpu,cpuacct:/", "2:pids:/jobs/42", "0::/user.slice/session-1.scope"]);

        var mounts = CgroupMounts.Read(mountinfo, cgroup);

        Assert.Equal("/sys/fs/cgroup/memory/jobs/42", mounts.V1Paths["memory"]);
        Assert.Equal("/sys/fs/cgroup/cpu,cpuacct", mounts.V1Paths["cpu"]);
        Assert.Equal("/sys/fs/cgroup/cpu,cpuacct", mounts.V1Paths["cpuacct"]);
        Assert.Equal("/sys/fs/cgroup/pids/jobs/42", mounts.V1Paths["pids"]);
        Assert.Equal("/sys/fs/cgroup/unified/user.slice/session-1.scope", mounts.UnifiedPath);
    }

    [Fact]
    public void V2WorkerGroupsGetEveryCapAndKeepNoSwap()
    {
        string own = Group("v2/own", ("cgroup.controllers", "cpuset cpu io memory pids\n"), ("cgroup.subtree_control", ""));
        var (driver, problem) = CgroupV2Driver.TryCreate(own, "warden-test");
        Assert.Null(problem);
        Assert.Equal("+memory +pids +cpu", File.ReadAllText(Path.Combine(own, "cgroup.subtree_control")));
        Assert.Equal("+memory +pids +cpu", File.ReadAllText(Path.Combine(own, "warden-test", "cgroup.subtree_control")));

        // A real cgroupfs creates these files with the directory; here they are made ahead.
        string worker = Group("v2/own/warden-test/w_probe", ("memory.swap.max", "max"));
        Directory.Delete(worker, recursive: true);

        var group = driver!.CreateWorkerGroup(maxTasks: 96, cpuCores: 1.5, memoryBytes: 512L << 20);
        string directory = Directory.GetDirectories(Path.Combine(own, "warden-test")).Single();
        Assert.Equal("96", File.ReadAllText(Path.Combine(directory, "pids.max")));
        Assert.Equal("150000 100000", File.ReadAllText(Path.Combine(directory, "cpu.max")));
        Assert.Equal((512L << 20).ToString(), File.ReadAllText(Path.Combine(directory, "memory.max")));
        Assert.Equal([Path.Combine(directory, "cgroup.procs")], group.ProcsFiles);

        File.WriteAllText(Path.Combine(directory, "memory.events"), "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
        File.WriteAllText(Path.Combine(directory, "memory.current"), "123456\n");
        File.WriteAllText(Path.Combine(directory, "cpu.stat"), "usage_usec 2500\nuser_usec 2000\n");
        Assert.Equal(1, group.OomKills());
        Assert.Equal(123456, group.MemoryUsageBytes());
        Assert.Equal(2.5, group.CpuMs());
        group.SetMemoryLimit(1L << 30);
        Assert.Equal((1L << 30).ToString(), File.ReadAllText(Path.Combine(directory, "memory.max")));
    }

    [Fact]
    public void V2GroupWithOtherMembersIsNeverRearranged()
    {
        // subtree_control as a directory: writing it fails, as the kernel's EBUSY would.
        string own = Group("v2/busy", ("cgroup.controllers", "memory pids cpu\n"), ("cgroup.procs", "1\n4242\n"));
        Directory.CreateDirectory(Path.Combine(own, "cgroup.subtree_control"));
        var (driver, problem) = CgroupV2Driver.TryCreate(own, "warden-test");
        Assert.Null(driver);
        Assert.Contains("has other member processes", problem);
        Assert.False(Directory.Exists(Path.Combine(own, "warden-test-host")));
    }

    [Fact]
    public void V2WithoutDelegatedControllersIsReportedWithTheReason()
    {
        string own = Group("v2/bare", ("cgroup.controllers", "cpuset io\n"));
        var (driver, problem) = CgroupV2Driver.TryCreate(own, "warden-test");
        Assert.Null(driver);
        Assert.Contains("memory, pids, cpu not delegated", problem);
    }

    [Fact]
    public void V1MemoryAndSwapCapsMoveInTheOrderTheKernelAccepts()
    {
        var paths = new Dictionary<string, string>
        {
            ["memory"] = Group("v1/memory/job", ("cgroup.procs", "")),
            ["pids"] = Group("v1/pids/job", ("cgroup.procs", "")),
            ["cpu"] = Group("v1/cpu/job", ("cgroup.procs", "")),
        };
        var (driver, problem) = CgroupV1Driver.TryCreate(paths, "warden-test");
        Assert.Null(problem);
        foreach (var controller in paths.Keys)
        {
            File.WriteAllText(Path.Combine(paths[controller], "warden-test", "cgroup.procs"), "");
        }
        var group = driver!.CreateWorkerGroup(maxTasks: 128, cpuCores: 1, memoryBytes: 256L << 20);
        string memory = Directory.GetDirectories(Path.Combine(paths["memory"], "warden-test")).Single();
        Assert.Equal((256L << 20).ToString(), File.ReadAllText(Path.Combine(memory, "memory.limit_in_bytes")));
        string pids = Directory.GetDirectories(Path.Combine(paths["pids"], "warden-test")).Single();
        Assert.Equal("128", File.ReadAllText(Path.Combine(pids, "pids.max")));
        string cpu = Directory.GetDirectories(Path.Combine(paths["cpu"], "warden-test")).Single();
        Assert.Equal("100000", File.ReadAllText(Path.Combine(cpu, "cpu.cfs_quota_us")));
        Assert.Equal(3, group.ProcsFiles.Count);

        File.WriteAllText(Path.Combine(memory, "memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
        Assert.Equal(2, group.OomKills());
        Assert.Null(group.CpuMs()); // no cpuacct hierarchy here
    }

    [Fact]
    public void V1WithoutAControllerIsReportedWithTheReason()
    {
        var (driver, problem) = CgroupV1Driver.TryCreate(new Dictionary<string, string> { ["memory"] = Group("v1only/memory") }, "warden-test");
        Assert.Null(driver);
        Assert.Contains("pids, cpu not mounted", problem);
    }

    [Theory]
    [InlineData(159, false, OutcomeStatus.InternalError, null, "seccomp")]
    [InlineData(137, true, OutcomeStatus.MemoryLimit, LimitKind.Process, "OS cap")]
    [InlineData(90, false, OutcomeStatus.InternalError, null, "exit code 90")]
    [InlineData(137, false, OutcomeStatus.InternalError, null, "SIGKILL")]
    public void DeathsAreClassifiedFromFacts(int exitCode, bool oomKilled, OutcomeStatus status, LimitKind? limit, string text)
    {
        var (s, l, message) = WorkerExitClassifier.Classify(exitCode, "", oomKilled);
        Assert.Equal(status, s);
        Assert.Equal(limit, l);
        Assert.Contains(text, message);
    }
}
