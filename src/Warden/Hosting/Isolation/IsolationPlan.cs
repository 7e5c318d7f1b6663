namespace Warden.Hosting.Isolation;

/// <summary>
/// Which OS layers this sandbox's workers get, decided once at construction from the probe and
/// <see cref="SandboxOptions.OsIsolation"/>: Required refuses to start when a layer is missing,
/// BestEffort uses what exists (and the sandbox logs what does not), Disabled uses none.
/// </summary>
internal sealed record IsolationPlan(
    IsolationReport Report,
    string? BwrapPath,
    string? SetprivPath,
    bool DisableNestedUserNamespaces,
    CgroupDriver? Cgroups,
    bool Seccomp,
    IReadOnlyList<string> WorkerFiles)
{
    public static readonly IsolationPlan None = new(new IsolationReport([]), null, null, false, null, false, []);

    public bool Namespaces => BwrapPath is not null;

    /// <summary>True when any layer is applied: the worker then starts through the launcher.</summary>
    public bool Any => Namespaces || Cgroups is not null || Seccomp;

    /// <exception cref="IsolationUnavailableException">Required mode and a layer is missing.</exception>
    public static IsolationPlan Resolve(SandboxOptions options, string dotnetHost, string workerAssembly)
    {
        if (options.OsIsolation == OsIsolationMode.Disabled)
        {
            return None;
        }
        var facts = IsolationProbe.Current;
        var layers = facts.Report.Layers.ToList();
        void Missing(string name, string detail, string remedy)
        {
            int i = layers.FindIndex(l => l.Name == name);
            if (i >= 0 && layers[i].Active)
            {
                layers[i] = new IsolationLayer(name, false, detail, remedy);
            }
        }
        if (facts.SetprivPath is not null
            && UnreachableByWorkerUid(Path.GetDirectoryName(workerAssembly)!, Path.GetDirectoryName(dotnetHost)!) is { } blocked)
        {
            Missing("unprivileged-uid", $"workers run as uid {BubblewrapCommand.WorkerUid}, which cannot reach {blocked}",
                "make every directory above the worker and the .NET runtime world-searchable (chmod o+x), or install them elsewhere");
        }
        var workerFiles = Isolation.WorkerFiles.Resolve(workerAssembly);
        if (workerFiles is null)
        {
            Missing("namespaces", $"the worker's files cannot be listed from {Path.ChangeExtension(workerAssembly, ".deps.json")}",
                "deploy the worker with its .deps.json (a normal build or publish output)");
        }
        var report = new IsolationReport(layers);
        if (options.OsIsolation == OsIsolationMode.Required && !report.AllActive)
        {
            throw new IsolationUnavailableException(report);
        }
        bool Active(string name) => layers.Any(l => l.Name == name && l.Active);
        return new IsolationPlan(report,
            Active("namespaces") ? facts.BwrapPath : null,
            Active("unprivileged-uid") ? facts.SetprivPath : null,
            facts.DisableNestedUserNamespaces,
            Active("cgroup") ? facts.Cgroups : null,
            Active("seccomp"),
            workerFiles ?? []);
    }

    /// <summary>The first directory (or file) on the way to these that "others" cannot search or read, if any.</summary>
    private static string? UnreachableByWorkerUid(params string[] directories)
    {
        foreach (var start in directories)
        {
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                if (d.Exists && (d.UnixFileMode & UnixFileMode.OtherExecute) == 0)
                {
                    return d.FullName;
                }
            }
        }
        return null;
    }
}
