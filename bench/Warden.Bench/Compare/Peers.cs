using System.Diagnostics;
using System.Text.Json;

namespace Warden.Bench.Compare;

/// <summary>
/// The peers installed by bench/peers/install.sh into bench/.peers (git-ignored), and how to start
/// each system's runner.
/// </summary>
internal sealed record Peers(string Root, string? Node24, string? NodeVersion, string? Deno, string? DenoVersion, string? IsolatedVm,
    string? QuickJs, string? InstallError)
{
    public static Peers Install(string root)
    {
        var info = new ProcessStartInfo("bash", [Path.Combine(root, "bench", "peers", "install.sh")])
        {
            RedirectStandardOutput = true,
            WorkingDirectory = root,
        };
        using var process = Process.Start(info)!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        string? last = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        if (process.ExitCode != 0 || last is null || !last.StartsWith('{'))
        {
            return new Peers(root, null, null, null, null, null, null, $"install.sh failed (exit {process.ExitCode})");
        }
        var json = JsonDocument.Parse(last).RootElement;
        string? Get(string name) => json.TryGetProperty(name, out var v) ? v.GetString() : null;
        return new Peers(root, Get("node24"), Get("nodeVersion"), Get("deno"), Get("denoVersion"), Get("isolatedVm"), Get("quickjs"), null);
    }

    /// <summary>The versions the report states.</summary>
    public Dictionary<string, string> Versions() => new()
    {
        [".NET"] = Environment.Version.ToString(),
        ["ClearScript (V8)"] = typeof(Microsoft.ClearScript.V8.V8ScriptEngine).Assembly.GetName().Version?.ToString() ?? "?",
        ["Node (peers)"] = NodeVersion ?? "not installed",
        ["isolated-vm"] = IsolatedVm ?? "not installed",
        ["quickjs-emscripten"] = QuickJs ?? "not installed",
        ["Deno"] = DenoVersion ?? "not installed",
        ["Jint"] = JintVersion,
    };

    public string JintRunner => Path.Combine(Root, "bench", "peers", "jint", "bin", "Release", "net10.0", "Warden.Bench.Jint.dll");

    public string JintVersion
    {
        get
        {
            string dll = Path.Combine(Path.GetDirectoryName(JintRunner)!, "Jint.dll");
            return File.Exists(dll) ? FileVersionInfo.GetVersionInfo(dll).ProductVersion?.Split('+')[0] ?? "?" : "not built";
        }
    }

    /// <summary>The command line of one runner invocation, or null (with why) when that system is not available.</summary>
    public (ProcessStartInfo? Start, string? Unavailable) Runner(string system, string workload, string[] options, string workloadsPath)
    {
        ProcessStartInfo info;
        if (ComparePlan.WardenSystems.Contains(system))
        {
            info = new ProcessStartInfo("dotnet", [typeof(Peers).Assembly.Location, "runner", system, workload, .. options]);
        }
        else if (system == "jint")
        {
            if (!File.Exists(JintRunner))
            {
                return (null, "the Jint runner is not built (bench/run.sh builds it)");
            }
            info = new ProcessStartInfo("dotnet", [JintRunner, system, workload, .. options, "--workloads", workloadsPath]);
        }
        else
        {
            if (Node24 is null)
            {
                return (null, InstallError ?? "peers not installed");
            }
            info = new ProcessStartInfo(Node24, ["--no-node-snapshot", Path.Combine(Root, "bench", "peers", "node", "runner.mjs"), system, workload, .. options]);
        }
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.WorkingDirectory = Root;
        return (info, null);
    }
}
