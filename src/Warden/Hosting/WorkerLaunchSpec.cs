using System.Diagnostics;

namespace Warden.Hosting;

/// <summary>How to start a worker process: which dotnet host, which assembly, which environment.</summary>
internal sealed record WorkerLaunchSpec(string DotnetHost, string WorkerAssembly)
{
    public const string WorkerAssemblyFileName = "Warden.Worker.dll";

    public static WorkerLaunchSpec Resolve(SandboxOptions options)
    {
        string assembly = options.WorkerAssemblyPath ?? Path.Combine(AppContext.BaseDirectory, WorkerAssemblyFileName);
        if (!File.Exists(assembly))
        {
            throw new SandboxOptionsException([$"The worker assembly was not found at '{assembly}'. Set WorkerAssemblyPath."]);
        }
        string host = options.DotnetHostPath ?? FindDotnetHost()
            ?? throw new SandboxOptionsException(["No dotnet host was found to start workers. Set DotnetHostPath."]);
        return new WorkerLaunchSpec(host, assembly);
    }

    public ProcessStartInfo ToStartInfo()
    {
        var info = new ProcessStartInfo(DotnetHost)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(WorkerAssembly)!,
        };
        info.ArgumentList.Add(WorkerAssembly);
        // SECURITY: the worker inherits nothing of the host's environment (no secrets, tokens or
        // connection strings). Only what the runtime needs is set.
        info.Environment.Clear();
        // No diagnostics IPC socket: otherwise anything that can reach it could attach to the worker.
        info.Environment["DOTNET_EnableDiagnostics"] = "0";
        info.Environment["DOTNET_gcServer"] = "0";
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        return info;
    }

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
