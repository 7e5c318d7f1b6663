namespace Warden.Hosting.Isolation;

/// <summary>cgroup v1: one hierarchy per controller (memory, pids, cpu; cpuacct for CPU usage when mounted).</summary>
internal sealed class CgroupV1Driver : CgroupDriver
{
    private static readonly string[] Required = ["memory", "pids", "cpu"];
    private readonly Dictionary<string, string> _hostGroups;

    private CgroupV1Driver(Dictionary<string, string> hostGroups) => _hostGroups = hostGroups;

    public override string Description => "cgroup v1 (" + string.Join(", ", _hostGroups.Keys) + ") under " + _hostGroups["memory"];

    public static (CgroupV1Driver?, string?) TryCreate(CgroupMounts mounts) => TryCreate(mounts.V1Paths, HostGroupName);

    internal static (CgroupV1Driver?, string?) TryCreate(IReadOnlyDictionary<string, string> ownPaths, string hostGroupName)
    {
        var missing = Required.Where(c => !ownPaths.ContainsKey(c)).ToList();
        if (missing.Count > 0)
        {
            return (null, $"cgroup v1: controller(s) {string.Join(", ", missing)} not mounted");
        }
        var groups = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var controller in Required.Append("cpuacct"))
        {
            if (!ownPaths.TryGetValue(controller, out var own))
            {
                continue; // cpuacct is optional: only CPU usage reporting needs it.
            }
            // cpu and cpuacct are often one hierarchy ("cpu,cpuacct"): one directory serves both.
            if (groups.ContainsValue(Path.Combine(own, hostGroupName)))
            {
                groups[controller] = Path.Combine(own, hostGroupName);
                continue;
            }
            if (!File.Exists(Path.Combine(own, "cgroup.procs")))
            {
                if (controller == "cpuacct")
                {
                    continue;
                }
                return (null, $"cgroup v1: {own} is not a cgroup directory");
            }
            RemoveStaleHostGroups(own);
            string group = Path.Combine(own, hostGroupName);
            try
            {
                Directory.CreateDirectory(group);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                if (controller == "cpuacct")
                {
                    continue;
                }
                return (null, $"cgroup v1: cannot create {group} ({e.Message})");
            }
            groups[controller] = group;
        }
        return (new CgroupV1Driver(groups), null);
    }

    public override WorkerCgroup CreateWorkerGroup(int maxTasks, double cpuCores, long memoryBytes)
    {
        WorkerCgroup.RemoveLeftovers();
        string name = NextWorkerName();
        var directories = _hostGroups.ToDictionary(p => p.Key, p => Path.Combine(p.Value, name));
        foreach (var directory in directories.Values.Distinct())
        {
            Directory.CreateDirectory(directory);
        }
        var group = new V1WorkerCgroup(directories);
        try
        {
            Write(Path.Combine(directories["pids"], "pids.max"), maxTasks.ToString(System.Globalization.CultureInfo.InvariantCulture));
            const int periodUs = 100_000;
            Write(Path.Combine(directories["cpu"], "cpu.cfs_period_us"), periodUs.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Write(Path.Combine(directories["cpu"], "cpu.cfs_quota_us"), ((long)(cpuCores * periodUs)).ToString(System.Globalization.CultureInfo.InvariantCulture));
            group.SetMemoryLimit(memoryBytes);
            return group;
        }
        catch
        {
            group.Dispose();
            throw;
        }
    }

    private sealed class V1WorkerCgroup(Dictionary<string, string> directories) : WorkerCgroup
    {
        private readonly string _memory = directories["memory"];
        // Whether swap accounting exists is a property of the machine: looked up once, not per execution.
        private readonly string? _memsw = File.Exists(Path.Combine(directories["memory"], "memory.memsw.limit_in_bytes"))
            ? Path.Combine(directories["memory"], "memory.memsw.limit_in_bytes") : null;
        private long _limit = long.MaxValue;

        public override IReadOnlyList<string> ProcsFiles { get; } = directories.Values.Distinct().Select(d => Path.Combine(d, "cgroup.procs")).ToArray();

        protected override IEnumerable<string> Directories => directories.Values.Distinct();

        public override void SetMemoryLimit(long bytes)
        {
            // memory+swap must never be below memory alone: raise it first, lower it last. Capping
            // memory+swap too keeps a bomb from escaping into swap where swap accounting exists.
            string value = bytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (bytes >= _limit)
            {
                if (_memsw is not null)
                {
                    Write(_memsw, value);
                }
                Write(Path.Combine(_memory, "memory.limit_in_bytes"), value);
            }
            else
            {
                Write(Path.Combine(_memory, "memory.limit_in_bytes"), value);
                if (_memsw is not null)
                {
                    Write(_memsw, value);
                }
            }
            _limit = bytes;
        }

        public override long MemoryUsageBytes() => ReadNumber(Path.Combine(_memory, "memory.usage_in_bytes"));

        public override long OomKills() => ReadKeyedValue(Path.Combine(_memory, "memory.oom_control"), "oom_kill");

        // memory.max_usage_in_bytes: writing 0 resets the high-water mark to the current usage.
        public override bool ResetPeakMemoryUsage()
        {
            Write(Path.Combine(_memory, "memory.max_usage_in_bytes"), "0");
            return true;
        }

        public override long PeakMemoryUsageBytes() => ReadNumber(Path.Combine(_memory, "memory.max_usage_in_bytes"));

        public override double? CpuMs() =>
            directories.TryGetValue("cpuacct", out var cpuacct) ? ReadNumber(Path.Combine(cpuacct, "cpuacct.usage")) / 1e6 : null;
    }
}
