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

    /// <summary>The copy workers start from when uid 65534 could not read the originals (<see cref="WorkerStaging"/>).</summary>
    public WorkerStaging.StagedDirectory? Staged { get; init; }

    /// <summary>The dotnet host workers start with: the staged copy's when the runtime was staged.</summary>
    public string? StagedDotnetHost { get; init; }

    /// <summary>The worker assembly workers start with: the staged copy's when the worker was staged.</summary>
    public string? StagedWorkerAssembly { get; init; }

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
        var workerFiles = Isolation.WorkerFiles.Resolve(workerAssembly);
        WorkerStaging.StagedDirectory? staged = null;
        string? stagedHost = null, stagedAssembly = null;
        string workerDir = Path.GetDirectoryName(workerAssembly)!, dotnetRoot = Path.GetDirectoryName(dotnetHost)!;
        // Only a root host drops workers to uid 65534; a host of any other uid can read its own files.
        string? workerBlocked = facts.SetprivPath is null || workerFiles is null ? null
            : UnreachableByWorkerUid(workerDir, workerFiles.Select(f => Path.Combine(workerDir, f)));
        string? runtimeBlocked = facts.SetprivPath is null ? null
            : UnreachableByWorkerUid(dotnetRoot, RuntimeFiles(dotnetHost).Select(f => f.Source));
        if ((workerBlocked is not null || runtimeBlocked is not null) && OperatingSystem.IsLinux())
        {
            // Staged only when needed: a worker installed where uid 65534 can read it costs nothing more.
            var entries = new List<WorkerStaging.Entry>();
            if (workerBlocked is not null)
            {
                entries.AddRange(workerFiles!.Select(f => new WorkerStaging.Entry("worker/" + f, Path.Combine(workerDir, f))));
            }
            if (runtimeBlocked is not null)
            {
                entries.AddRange(RuntimeFiles(dotnetHost));
            }
            string root = options.WorkerStagingRoot ?? WorkerStaging.DefaultRoot;
            var (copy, problem) = WorkerStaging.Stage(root, entries);
            string blocked = workerBlocked ?? runtimeBlocked!;
            if (copy is null)
            {
                Missing("unprivileged-uid", $"workers run as uid {BubblewrapCommand.WorkerUid}, which cannot read {blocked}, and its copy could not be staged: {problem}",
                    $"make every directory above the worker and the .NET runtime world-searchable (chmod o+x) and their files world-readable, or make {root} and the directories above it root's and writable by root only");
            }
            else
            {
                staged = copy;
                stagedAssembly = workerBlocked is null ? null : Path.Combine(copy.Path, "worker", Path.GetFileName(workerAssembly));
                stagedHost = runtimeBlocked is null ? null : Path.Combine(copy.Path, "dotnet", Path.GetFileName(dotnetHost));
                int i = layers.FindIndex(l => l.Name == "unprivileged-uid");
                if (i >= 0 && layers[i].Active)
                {
                    layers[i] = layers[i] with
                    {
                        Detail = layers[i].Detail + $"; uid {BubblewrapCommand.WorkerUid} cannot read {blocked}, so workers start from a verified root-owned copy in {copy.Path}"
                            + (copy.Replaced is null ? "" : $" (an earlier copy failed its check and was replaced: {copy.Replaced})"),
                    };
                }
            }
        }
        if (workerFiles is null && facts.SetprivPath is not null && UnreachableByWorkerUid(workerDir, []) is { } unlisted)
        {
            // Nothing to stage without the list of the worker's files.
            Missing("unprivileged-uid", $"workers run as uid {BubblewrapCommand.WorkerUid}, which cannot reach {unlisted}",
                "make every directory above the worker and the .NET runtime world-searchable (chmod o+x), or install them elsewhere");
        }
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
            workerFiles ?? [])
        {
            Staged = staged,
            StagedDotnetHost = stagedHost,
            StagedWorkerAssembly = stagedAssembly,
        };
    }

    /// <summary>What of the .NET root a worker needs (<see cref="BubblewrapCommand"/> binds the same parts), as staging entries.</summary>
    private static IEnumerable<WorkerStaging.Entry> RuntimeFiles(string dotnetHost)
    {
        string dotnetRoot = Path.GetDirectoryName(dotnetHost)!;
        yield return new("dotnet/" + Path.GetFileName(dotnetHost), dotnetHost);
        foreach (var part in BubblewrapCommand.RuntimeParts)
        {
            string directory = Path.Combine(dotnetRoot, part);
            if (!Directory.Exists(directory))
            {
                continue;
            }
            foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
            {
                yield return new("dotnet/" + Path.GetRelativePath(dotnetRoot, file), file);
            }
        }
    }

    /// <summary>The first directory on the way to <paramref name="directory"/> that "others" cannot search, or the first of <paramref name="files"/> they cannot read, if any.</summary>
    private static string? UnreachableByWorkerUid(string directory, IEnumerable<string> files)
    {
        for (var d = new DirectoryInfo(directory); d is not null; d = d.Parent)
        {
            if (d.Exists && (d.UnixFileMode & UnixFileMode.OtherExecute) == 0)
            {
                return d.FullName;
            }
        }
        foreach (var file in files)
        {
            var info = new FileInfo(file);
            // A link is followed (the kernel follows it too), so the mode read is its target's.
            var mode = info.LinkTarget is null ? info.UnixFileMode : (info.ResolveLinkTarget(true) ?? info).UnixFileMode;
            if ((mode & UnixFileMode.OtherRead) == 0)
            {
                return file;
            }
        }
        return null;
    }
}
