namespace Warden.Hosting.Isolation;

/// <summary>
/// cgroup v2: one tree. Worker groups are leaves under <c>&lt;own&gt;/warden-&lt;pid&gt;</c>; the
/// memory, pids and cpu controllers must be enabled down to them. If the host's own group holds only
/// the host, the host moves itself into a leaf so that the group may delegate; it never moves any
/// other process: otherwise the layer is reported missing with the remedy.
/// </summary>
internal sealed class CgroupV2Driver : CgroupDriver
{
    private const string Controllers = "+memory +pids +cpu";
    private readonly string _hostGroup;

    private CgroupV2Driver(string hostGroup) => _hostGroup = hostGroup;

    public override string Description => "cgroup v2 under " + _hostGroup;

    public static (CgroupV2Driver?, string?) TryCreate(string ownGroup) => TryCreate(ownGroup, HostGroupName);

    internal static (CgroupV2Driver?, string?) TryCreate(string ownGroup, string hostGroupName)
    {
        string available;
        try
        {
            available = File.ReadAllText(Path.Combine(ownGroup, "cgroup.controllers"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, $"cgroup v2: cannot read {ownGroup}/cgroup.controllers ({e.Message})");
        }
        var have = available.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet();
        var missing = new[] { "memory", "pids", "cpu" }.Where(c => !have.Contains(c)).ToList();
        if (missing.Count > 0)
        {
            return (null, $"cgroup v2: controller(s) {string.Join(", ", missing)} not delegated to {ownGroup}");
        }
        RemoveStaleHostGroups(ownGroup);
        string hostGroup = Path.Combine(ownGroup, hostGroupName);
        try
        {
            // Controllers must be enabled in the parent's subtree_control to exist in its children,
            // and a non-root group with member processes cannot enable them ("no internal
            // processes"). A delegated group that holds only this host (a systemd service with
            // Delegate=yes, a container's own group) is made valid the way systemd documents:
            // the host moves itself into a leaf beside the workers' groups. Other processes are
            // never moved.
            if (!TryWrite(Path.Combine(ownGroup, "cgroup.subtree_control"), Controllers))
            {
                if (!HoldsOnlyThisProcess(ownGroup))
                {
                    return (null, $"cgroup v2: {ownGroup} has other member processes, so controllers cannot be enabled below it; "
                        + "run Warden in its own delegated group (systemd: Delegate=yes)");
                }
                string leaf = Path.Combine(ownGroup, hostGroupName + "-host");
                Directory.CreateDirectory(leaf);
                Write(Path.Combine(leaf, "cgroup.procs"), Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
                // The kernel may still see the group as populated for a moment after the move.
                for (int attempt = 0; !TryWrite(Path.Combine(ownGroup, "cgroup.subtree_control"), Controllers); attempt++)
                {
                    if (attempt == 10)
                    {
                        Write(Path.Combine(ownGroup, "cgroup.subtree_control"), Controllers);
                    }
                    Thread.Sleep(10);
                }
            }
            Directory.CreateDirectory(hostGroup);
            Write(Path.Combine(hostGroup, "cgroup.subtree_control"), Controllers);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, $"cgroup v2: cannot enable memory, pids and cpu below {ownGroup} ({e.Message}); "
                + "a group with member processes cannot delegate controllers: run Warden in its own delegated group");
        }
        return (new CgroupV2Driver(hostGroup), null);
    }

    private static bool TryWrite(string file, string value)
    {
        try
        {
            Write(file, value);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static bool HoldsOnlyThisProcess(string group)
    {
        var members = File.ReadAllLines(Path.Combine(group, "cgroup.procs")).Where(l => l.Length > 0).ToList();
        return members.All(m => m == Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    public override WorkerCgroup CreateWorkerGroup(int maxTasks, double cpuCores, long memoryBytes)
    {
        WorkerCgroup.RemoveLeftovers();
        string directory = Path.Combine(_hostGroup, NextWorkerName());
        Directory.CreateDirectory(directory);
        var group = new V2WorkerCgroup(directory);
        try
        {
            Write(Path.Combine(directory, "pids.max"), maxTasks.ToString(System.Globalization.CultureInfo.InvariantCulture));
            const int periodUs = 100_000;
            Write(Path.Combine(directory, "cpu.max"), $"{(long)(cpuCores * periodUs)} {periodUs}");
            // No swap: a bomb must meet the cap, not page out to disk.
            if (File.Exists(Path.Combine(directory, "memory.swap.max")))
            {
                Write(Path.Combine(directory, "memory.swap.max"), "0");
            }
            group.SetMemoryLimit(memoryBytes);
            return group;
        }
        catch
        {
            group.Dispose();
            throw;
        }
    }

    private sealed class V2WorkerCgroup(string directory) : WorkerCgroup
    {
        public override IReadOnlyList<string> ProcsFiles { get; } = [Path.Combine(directory, "cgroup.procs")];

        protected override IEnumerable<string> Directories => [directory];

        public override void SetMemoryLimit(long bytes) =>
            Write(Path.Combine(directory, "memory.max"), bytes.ToString(System.Globalization.CultureInfo.InvariantCulture));

        public override long MemoryUsageBytes() => ReadNumber(Path.Combine(directory, "memory.current"));

        public override long OomKills() => ReadKeyedValue(Path.Combine(directory, "memory.events"), "oom_kill");

        // memory.peak can only be reset per open descriptor (Linux 6.12+), and the host reads it
        // through a new one each time: the peak runs from the group's creation, an upper bound.
        public override bool ResetPeakMemoryUsage() => false;

        public override long PeakMemoryUsageBytes() => ReadNumber(Path.Combine(directory, "memory.peak"));

        public override double? CpuMs() => ReadKeyedValue(Path.Combine(directory, "cpu.stat"), "usage_usec") / 1e3;

        public override void KillAll()
        {
            // cgroup.kill (Linux 5.14+) kills every member atomically, including ones forking right now.
            string kill = Path.Combine(directory, "cgroup.kill");
            if (File.Exists(kill))
            {
                try
                {
                    Write(kill, "1");
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                }
            }
            base.KillAll();
        }
    }
}
