namespace Warden.Hosting.Isolation;

/// <summary>
/// Makes one cgroup per worker under the host's own cgroup (v2, or v1 where that is what the machine
/// has), so that memory — off the V8 heap too — tasks and CPU are capped by the kernel, and a worker
/// is killed as a whole. One driver per host process; worker groups live under
/// <c>warden-&lt;host pid&gt;</c>, which a later host removes if this one died without cleaning up.
/// </summary>
internal abstract class CgroupDriver
{
    private static readonly Lazy<(CgroupDriver? Driver, string Detail)> SharedDriver = new(Discover);
    private static long _sequence;

    /// <summary>The driver for this machine, or null with the reason it is unavailable.</summary>
    public static (CgroupDriver? Driver, string Detail) Shared => SharedDriver.Value;

    public abstract string Description { get; }

    /// <summary>Creates the cgroup of a new worker, with its task and CPU caps and a starting memory cap.</summary>
    public abstract WorkerCgroup CreateWorkerGroup(int maxTasks, double cpuCores, long memoryBytes);

    protected static string NextWorkerName() => "w" + Interlocked.Increment(ref _sequence);

    protected static string HostGroupName => "warden-" + Environment.ProcessId;

    private static (CgroupDriver?, string) Discover()
    {
        if (!OperatingSystem.IsLinux())
        {
            return (null, "cgroups exist only on Linux");
        }
        CgroupMounts mounts;
        try
        {
            mounts = CgroupMounts.Read("/proc/self/mountinfo", "/proc/self/cgroup");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, "cannot read /proc/self/mountinfo or /proc/self/cgroup: " + e.Message);
        }
        string? v2Problem = null;
        if (mounts.UnifiedPath is { } unified)
        {
            var (v2, problem) = CgroupV2Driver.TryCreate(unified);
            if (v2 is not null)
            {
                return (v2, v2.Description);
            }
            v2Problem = problem;
        }
        var (v1, v1Problem) = CgroupV1Driver.TryCreate(mounts);
        if (v1 is not null)
        {
            return (v1, v1.Description);
        }
        return (null, v2Problem is null ? v1Problem! : $"{v2Problem}; {v1Problem}");
    }

    /// <summary>Removes groups left by hosts that died: empty directories named for a process that no longer exists.</summary>
    protected static void RemoveStaleHostGroups(string parent)
    {
        try
        {
            foreach (var directory in Directory.EnumerateDirectories(parent, "warden-*"))
            {
                if (int.TryParse(Path.GetFileName(directory)["warden-".Length..], out int pid) && pid != Environment.ProcessId
                    && !Directory.Exists($"/proc/{pid}"))
                {
                    foreach (var child in Directory.EnumerateDirectories(directory))
                    {
                        TryRemoveDirectory(child);
                    }
                    TryRemoveDirectory(directory);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: a stale empty directory costs nothing.
        }
    }

    /// <summary>A cgroup directory can only be removed with rmdir (its files cannot be deleted).</summary>
    internal static bool TryRemoveDirectory(string path)
    {
        try
        {
            Directory.Delete(path, recursive: false);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    protected static void Write(string file, string value) => File.WriteAllText(file, value);
}
