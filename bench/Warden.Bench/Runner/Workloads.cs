using System.Text.RegularExpressions;

namespace Warden.Bench.Runner;

/// <summary>
/// The workloads of bench/peers/PROTOCOL.md, with their JavaScript read from bench/peers/workloads.mjs
/// (the one source every system runs).
/// </summary>
internal sealed partial class Workloads
{
    private readonly Dictionary<string, string> _code;

    private Workloads(Dictionary<string, string> code) => _code = code;

    public string this[string name] => _code.TryGetValue(name, out var code) ? code
        : throw new InvalidOperationException($"workloads.mjs has no '{name}'");

    public static Workloads Load(string path)
    {
        var code = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match m in ExportPattern().Matches(File.ReadAllText(path)))
        {
            code[m.Groups[1].Value] = m.Groups[2].Value;
        }
        return new Workloads(code);
    }

    /// <summary>bench/peers/workloads.mjs, found upwards from the program's own directory.</summary>
    public static string DefaultPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "bench", "peers", "workloads.mjs");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new FileNotFoundException("bench/peers/workloads.mjs not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"export const (\w+) = `(.*?)`;", RegexOptions.Singleline)]
    private static partial Regex ExportPattern();

    public static readonly string[] Names =
        ["tiny", "tiny-warm", "fib", "fib-warm", "json", "json-warm", "kill", "heap-bomb", "buffer-bomb", "churn", "churn-warm", "mix"];

    /// <summary>The suffix of a workload run in a reused isolate/runtime with a fresh context per execution.</summary>
    public const string WarmSuffix = "-warm";

    /// <summary>Whether <paramref name="workload"/> is a warm variant (<c>tiny-warm</c>, <c>fib-warm</c>, ...).</summary>
    public static bool IsWarm(string workload) => workload.EndsWith(WarmSuffix, StringComparison.Ordinal);

    /// <summary>The workload whose code, limits and defaults a warm variant shares (<c>fib-warm</c> → <c>fib</c>).</summary>
    public static string ColdOf(string workload) => IsWarm(workload) ? workload[..^WarmSuffix.Length] : workload;
}
