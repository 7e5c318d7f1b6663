namespace Warden.Tests;

/// <summary>
/// Looks at a worker from the host's side, through /proc: the host's child is bubblewrap's monitor;
/// the worker (the dotnet process, PID 1 of its own namespace) is its descendant.
/// </summary>
internal static class WorkerProcessInspector
{
    /// <summary>The dotnet worker under the process the host started (itself when there is no bubblewrap).</summary>
    public static int FindWorker(int hostChildPid)
    {
        var pending = new Queue<int>([hostChildPid]);
        while (pending.TryDequeue(out int pid))
        {
            if (Comm(pid) == "dotnet")
            {
                return pid;
            }
            foreach (var task in SafeList($"/proc/{pid}/task"))
            {
                foreach (var child in SafeRead($"{task}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    pending.Enqueue(int.Parse(child));
                }
            }
        }
        throw new InvalidOperationException($"no dotnet worker under pid {hostChildPid}");
    }

    /// <summary>Every dotnet worker descended from this (the test) process.</summary>
    public static IReadOnlyList<int> AllWorkers()
    {
        var workers = new List<int>();
        var pending = new Queue<int>([Environment.ProcessId]);
        while (pending.TryDequeue(out int pid))
        {
            if (pid != Environment.ProcessId && Comm(pid) == "dotnet")
            {
                workers.Add(pid);
                continue;
            }
            foreach (var task in SafeList($"/proc/{pid}/task"))
            {
                foreach (var child in SafeRead($"{task}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    pending.Enqueue(int.Parse(child));
                }
            }
        }
        return workers;
    }

    /// <summary>A line of /proc/PID/status, e.g. "Uid" → "65534 65534 65534 65534".</summary>
    public static string Status(int pid, string key)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(key + ":", StringComparison.Ordinal))
            {
                return string.Join(' ', line[(key.Length + 1)..].Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries));
            }
        }
        throw new InvalidOperationException($"no {key} in /proc/{pid}/status");
    }

    public static string Namespace(int pid, string kind) => new FileInfo($"/proc/{pid}/ns/{kind}").LinkTarget!;

    public static bool IsAlive(int pid) => Directory.Exists($"/proc/{pid}") && Comm(pid) != "" && !SafeRead($"/proc/{pid}/stat").Contains(") Z ");

    private static string Comm(int pid) => SafeRead($"/proc/{pid}/comm").Trim();

    private static string SafeRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    private static IEnumerable<string> SafeList(string path)
    {
        try
        {
            return Directory.GetDirectories(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}
