using System.Diagnostics;
using Warden.Hosting.Isolation;

namespace Warden.Hosting;

/// <summary>
/// How to start a worker process: which dotnet host, which assembly, which environment, inside which
/// OS layers (<see cref="IsolationPlan"/>).
/// </summary>
internal sealed record WorkerLaunchSpec(string DotnetHost, string WorkerAssembly)
{
    public IsolationPlan Isolation { get; init; } = IsolationPlan.None;

    /// <summary>Tools put in front of the worker command (the allowlist-derivation tool runs it under strace).</summary>
    public IReadOnlyList<string> CommandPrefix { get; init; } = [];

    /// <summary>The cgroup caps each worker gets when the cgroup layer is active.</summary>
    public int MaxTasks { get; init; } = 128;
    public double CpuCores { get; init; } = 1;

    public const string WorkerAssemblyFileName = "Warden.Worker.dll";

    /// <summary>
    /// Where the WardenJs package puts the worker in an app's output: a folder of its own, so that neither the app's
    /// copy of a shared dependency (Newtonsoft.Json, which ClearScript uses) nor the worker's replaces the other's.
    /// </summary>
    public const string PackagedWorkerFolder = "warden-worker";

    /// <summary>The worker's entry assembly: the packaged folder when there is one, else beside this library (inside the repository).</summary>
    internal static string DefaultWorkerAssemblyPath()
    {
        string packaged = Path.Combine(AppContext.BaseDirectory, PackagedWorkerFolder, WorkerAssemblyFileName);
        return File.Exists(packaged) ? packaged : Path.Combine(AppContext.BaseDirectory, WorkerAssemblyFileName);
    }

    public static WorkerLaunchSpec Resolve(SandboxOptions options)
    {
        string assembly = options.WorkerAssemblyPath ?? DefaultWorkerAssemblyPath();
        if (!File.Exists(assembly))
        {
            throw new SandboxOptionsException([$"The worker assembly was not found at '{assembly}'. Set WorkerAssemblyPath."]);
        }
        string host = options.DotnetHostPath ?? FindDotnetHost()
            ?? throw new SandboxOptionsException(["No dotnet host was found to start workers. Set DotnetHostPath."]);
        // Resolve links: bubblewrap binds the runtime's real directory into the worker's view.
        host = new FileInfo(host).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? Path.GetFullPath(host);
        assembly = Path.GetFullPath(assembly);
        return new WorkerLaunchSpec(host, assembly)
        {
            Isolation = IsolationPlan.Resolve(options, host, assembly),
            CommandPrefix = options.WorkerCommandPrefix ?? [],
            MaxTasks = options.WorkerMaxTasks,
            CpuCores = options.WorkerCpuCores,
        };
    }

    public ProcessStartInfo ToStartInfo(WorkerCgroup? cgroup = null)
    {
        var environment = WorkerEnvironment();
        if (!Isolation.Any)
        {
            var command = CommandPrefix.Concat([DotnetHost, WorkerAssembly]).ToList();
            return NewStartInfo(command[0], Path.GetDirectoryName(WorkerAssembly)!, command.Skip(1), environment);
        }
        // SECURITY: a staged copy is re-checked before every start (only root can change it, but a
        // changed copy is never run: the start fails and says why).
        if (Isolation.Staged?.Changed() is { } changed)
        {
            throw new InvalidOperationException("the staged copy of the worker failed its check: " + changed);
        }
        string host = Isolation.StagedDotnetHost ?? DotnetHost;
        string assembly = Isolation.StagedWorkerAssembly ?? WorkerAssembly;
        IEnumerable<string> worker = Isolation.Namespaces
            ? BubblewrapCommand.Build(Isolation.BwrapPath!, Isolation.DisableNestedUserNamespaces,
                host, assembly, Isolation.WorkerFiles, environment)
            : [host, assembly];
        if (Isolation.SetprivPath is not null)
        {
            worker = BubblewrapCommand.SetprivPrefix(Isolation.SetprivPath).Concat(worker);
        }
        // Without namespaces the launcher still joins the cgroup, closes inherited descriptors and
        // turns core dumps off; the environment is cleared by the start info either way.
        var args = WorkerLauncher.Arguments(cgroup?.ProcsFiles ?? [], CommandPrefix.Concat(worker));
        return NewStartInfo(WorkerLauncher.Shell, "/", args, environment);
    }

    private static ProcessStartInfo NewStartInfo(string program, string workingDirectory, IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string> environment)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var a in arguments)
        {
            info.ArgumentList.Add(a);
        }
        // SECURITY: the worker inherits nothing of the host's environment (no secrets, tokens or
        // connection strings). Only what the runtime needs is set. (Inside bubblewrap, --clearenv
        // and --setenv do the same for the worker itself.)
        info.Environment.Clear();
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }
        return info;
    }

    private static Dictionary<string, string> WorkerEnvironment() => new(StringComparer.Ordinal)
    {
        // No diagnostics IPC socket: otherwise anything that can reach it could attach to the worker.
        ["DOTNET_EnableDiagnostics"] = "0",
        ["DOTNET_gcServer"] = "0",
        ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        ["DOTNET_NOLOGO"] = "1",
        // ClearScript posts V8's background tasks (GC, compiler) to the .NET thread pool, whose idle
        // threads spin before they sleep: ~9% of a worker's samples in a profile of tiny executions,
        // CPU the worker's cgroup quota pays for and the other workers lose (issue measurements: 3–10%
        // less CPU, the same latency, without the spin).
        ["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"] = "0",
    };

    private static string? FindDotnetHost()
    {
        string? current = Environment.ProcessPath;
        if (current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet")
        {
            return current;
        }
        var candidates = new List<string>();
        foreach (var variable in new[] { "DOTNET_HOST_PATH" })
        {
            if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } path)
            {
                candidates.Add(path);
            }
        }
        if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } root)
        {
            candidates.Add(Path.Combine(root, "dotnet"));
        }
        candidates.Add(Path.Combine(Path.GetDirectoryName(typeof(object).Assembly.Location)!, "..", "..", "..", "dotnet"));
        candidates.AddRange(["/usr/share/dotnet/dotnet", "/usr/lib/dotnet/dotnet", "/usr/local/share/dotnet/dotnet", "/usr/bin/dotnet"]);
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            candidates.Add(Path.Combine(directory, "dotnet"));
        }
        return candidates.Select(Path.GetFullPath).FirstOrDefault(File.Exists);
    }
}
