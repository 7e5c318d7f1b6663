namespace Warden.Hosting.Isolation;

/// <summary>Where this process's cgroups are: the v1 hierarchy directory per controller, and the v2 directory.</summary>
internal sealed record CgroupMounts(IReadOnlyDictionary<string, string> V1Paths, string? UnifiedPath)
{
    /// <summary>
    /// Joins the mount table (where each hierarchy is mounted) with /proc/self/cgroup (where this process
    /// sits in each), so that worker groups nest under the host's own group: that is where delegation
    /// (systemd's Delegate=, a container's cgroup namespace) grants write access.
    /// </summary>
    public static CgroupMounts Read(string mountInfoPath, string cgroupPath)
    {
        var v1Mounts = new Dictionary<string, string>(StringComparer.Ordinal);
        string? v2Mount = null;
        foreach (var line in File.ReadLines(mountInfoPath))
        {
            // "36 35 0:31 / /sys/fs/cgroup/memory rw,relatime shared:15 - cgroup cgroup rw,memory"
            int separator = line.IndexOf(" - ", StringComparison.Ordinal);
            if (separator < 0)
            {
                continue;
            }
            var before = line[..separator].Split(' ');
            var after = line[(separator + 3)..].Split(' ');
            if (before.Length < 5 || after.Length < 3)
            {
                continue;
            }
            string mountPoint = Unescape(before[4]);
            if (after[0] == "cgroup2")
            {
                v2Mount ??= mountPoint;
            }
            else if (after[0] == "cgroup")
            {
                foreach (var option in after[2].Split(','))
                {
                    v1Mounts.TryAdd(option, mountPoint);
                }
            }
        }

        var v1Paths = new Dictionary<string, string>(StringComparer.Ordinal);
        string? unified = null;
        foreach (var line in File.ReadLines(cgroupPath))
        {
            // "4:memory:/process_api/41d6" (v1) or "0::/user.slice/..." (v2)
            var parts = line.Split(':', 3);
            if (parts.Length != 3)
            {
                continue;
            }
            string relative = parts[2].TrimStart('/');
            if (parts[1].Length == 0)
            {
                if (v2Mount is not null)
                {
                    unified = Path.Combine(v2Mount, relative);
                }
                continue;
            }
            foreach (var controller in parts[1].Split(','))
            {
                if (v1Mounts.TryGetValue(controller, out var mount))
                {
                    v1Paths[controller] = Path.Combine(mount, relative);
                }
            }
        }
        return new CgroupMounts(v1Paths, unified);
    }

    /// <summary>mountinfo escapes spaces and a few other bytes as octal.</summary>
    private static string Unescape(string field) =>
        field.Replace("\\040", " ", StringComparison.Ordinal).Replace("\\011", "\t", StringComparison.Ordinal)
             .Replace("\\012", "\n", StringComparison.Ordinal).Replace("\\134", "\\", StringComparison.Ordinal);
}
