using System.Globalization;
using System.Text;

namespace Warden.Bench.Compare;

/// <summary>The Markdown report of one comparison run: machine, versions, headline ratios, every figure.</summary>
internal sealed class CompareReport(ComparePlan plan, string? report, Dictionary<string, string> versions, List<Figure> figures, TimeSpan elapsed, DateTime date)
{
    public ComparePlan Plan => plan;
    public List<Figure> Figures => figures;
    public TimeSpan Elapsed => elapsed;
    public DateTime Date => date;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static readonly Dictionary<string, string> Units = new()
    {
        ["warden-engine"] = "V8 (ClearScript) in the caller's process, fresh runtime per execution, no prelude/worker/OS layer (`-warm`: one runtime, a fresh script engine — context — per execution)",
        ["warden"] = "Warden library: fresh isolate per execution in a locked-down worker process (`-warm`: `SandboxOptions.IsolationUnit = Context`, a warm isolate of the one, keyless isolation key with a fresh context per execution)",
        ["warden-quickjs"] = "Warden library on the quickjs engine (QuickJS-NG in wasm, run by Wasmtime): a fresh VM in a fresh store per execution in a locked-down worker process (no warm mode)",
        ["warden-http"] = "`warden serve` over loopback HTTP, same workers (`-warm`: `Warden:Sandbox:IsolationUnit = Context`, keyless requests)",
        ["isolated-vm"] = "isolated-vm on Node 24: fresh `Isolate` per execution (`-warm`: one isolate, fresh context)",
        ["node-vm"] = "Node 24 `vm` context (`DONT_CONTEXTIFY`: an ordinary global) with `timeout` — not a security boundary: the plain-V8 baseline",
        ["quickjs"] = "quickjs-emscripten (QuickJS compiled to wasm) on Node 24: fresh runtime + context (`-warm`: one runtime, fresh context)",
        ["deno"] = "one `deno run` process per execution, no permissions",
        ["jint"] = "Jint (.NET interpreter): fresh `Engine` with constraints",
    };

    /// <summary>The machine of the run: described now, or as stored with the results being redrawn.</summary>
    public string Machine { get; } = report ?? DescribeMachine();

    public Dictionary<string, string> Versions => versions;

    public Figure? Find(string system, string workload) =>
        figures.FirstOrDefault(f => f.System == system && f.Workload == workload && f.Supported);

    /// <summary>Median latency of <paramref name="system"/> over Warden's (library) on a workload.</summary>
    public double Ratio(string system, string workload, string baseline = "warden") =>
        Find(system, workload) is { } f && Find(baseline, workload) is { } b ? f.Latency.Median / b.Latency.Median : double.NaN;

    /// <summary>The warm workloads, compared against isolated-vm's warm mode (its fast path).</summary>
    public static readonly string[] WarmWorkloads = ["tiny-warm", "fib-warm", "json-warm", "churn-warm"];

    /// <summary>The systems with a warm mode, in the order the warm comparison lists them.</summary>
    public static readonly string[] WarmSystems = ["warden", "warden-http", "warden-engine", "quickjs"];

    public const string WarmBaseline = "isolated-vm";

    /// <summary>The system a workload's table states ratios against: Warden (library), or isolated-vm in warm mode.</summary>
    private static string Baseline(string workload) => Runner.Workloads.IsWarm(workload) ? WarmBaseline : "warden";

    public string Markdown(string chartFile)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# Warden and its peers, side by side ({plan.Mode} mode)");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Run {date:yyyy-MM-dd HH:mm} UTC by `bench/run.sh{(plan.Mode == "full" ? " --full" : "")}` in {elapsed.TotalMinutes:F1} min. Machine: {Machine}.");
        md.AppendLine();
        md.AppendLine("Versions: " + string.Join(", ", Versions.Select(v => $"{v.Key} {v.Value}")) + ".");
        md.AppendLine();
        md.AppendLine(plan.Repetitions > 1
            ? $"Every figure is the median of {plan.Repetitions} repetitions (each a separate runner process), with the min and max of those repetitions' medians."
            : "Quick mode: one runner process per figure; each figure is the median over that run's executions, with the fastest and slowest execution as min and max.");
        md.AppendLine("Latency is measured by each runner around one whole execution (create the isolation unit, pass the input, run, read the result, dispose). The JavaScript is the same for every system (`bench/peers/workloads.mjs`); the contract is `bench/peers/PROTOCOL.md`.");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"![median latency relative to Warden]({chartFile})");
        md.AppendLine();
        md.AppendLine("## Headlines");
        md.AppendLine();
        foreach (var line in Headlines())
        {
            md.AppendLine("- " + line);
        }
        md.AppendLine();
        if (figures.Any(f => Runner.Workloads.IsWarm(f.Workload)))
        {
            md.AppendLine("## Warm mode against isolated-vm");
            md.AppendLine();
            md.AppendLine("A reused isolate (runtime) with a fresh context per execution, on each system that has one; every cell is the median latency "
                + "and, in brackets, that time ÷ isolated-vm's in its warm mode (below 1: faster than isolated-vm).");
            md.AppendLine();
            md.AppendLine("| workload | `isolated-vm` | " + string.Join(" | ", WarmSystems.Select(s => $"`{s}`")) + " |");
            md.AppendLine("|---|---|" + string.Concat(WarmSystems.Select(_ => "---|")));
            foreach (var workload in WarmWorkloads.Where(w => figures.Any(f => f.Workload == w)))
            {
                string Cell(string system) => Find(system, workload) is { } f
                    ? N(f.Latency.Median) + " ms" + (system == WarmBaseline ? "" : $" ({X(Ratio(system, workload, WarmBaseline))})")
                    : "n/a";
                md.AppendLine("| `" + workload + "` | " + string.Join(" | ", WarmSystems.Prepend(WarmBaseline).Select(Cell)) + " |");
            }
            md.AppendLine();
        }
        md.AppendLine("## Systems");
        md.AppendLine();
        foreach (var (system, unit) in Units)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- `{system}`: {unit}");
        }
        foreach (var workload in figures.Select(f => f.Workload).Distinct())
        {
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"## `{workload}`");
            md.AppendLine();
            md.AppendLine(WorkloadText(workload));
            md.AppendLine();
            string baseline = Baseline(workload);
            md.AppendLine(CultureInfo.InvariantCulture, $"| system | median ms (min–max) | p99 ms | per second | time ÷ {(baseline == "warden" ? "Warden's" : $"{baseline}'s (warm)")} | results |");
            md.AppendLine("|---|---|---|---|---|---|");
            foreach (var figure in figures.Where(f => f.Workload == workload))
            {
                if (!figure.Supported)
                {
                    md.AppendLine(CultureInfo.InvariantCulture, $"| `{figure.System}` | n/a | | | | {Escape(figure.Note ?? "")} |");
                    continue;
                }
                var (median, min, max) = figure.Latency;
                double ratio = Ratio(figure.System, workload, baseline);
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"| `{figure.System}` | {N(median)} ({N(min)}–{N(max)}) | {N(figure.P99.Median)} | {figure.PerSecond.Median.ToString("F0", Inv)} | {(double.IsNaN(ratio) ? "" : ratio.ToString("F2", Inv))} | {Escape(Results(figure))} |");
            }
        }
        return md.ToString();
    }

    private static string WarmLabel(string workload) => Runner.Workloads.ColdOf(workload) switch
    {
        "fib" => "fib(30)",
        "json" => "JSON transform",
        var cold => cold,
    };

    private IEnumerable<string> Headlines()
    {
        string Ms(string system, string workload) => Find(system, workload) is { } f ? N(f.Latency.Median) + " ms" : "n/a";
        string Rate(string system, string workload) => Find(system, workload) is { } f ? f.PerSecond.Median.ToString("F0", Inv) + "/s" : "n/a";
        yield return $"**Tiny executions at equal isolation (a fresh isolate each):** Warden {Ms("warden", "tiny")} end to end "
            + $"(library; {Ms("warden-http", "tiny")} over HTTP; the engine alone in-process {Ms("warden-engine", "tiny")}) vs isolated-vm {Ms("isolated-vm", "tiny")}: "
            + $"Warden takes {X(1 / Ratio("isolated-vm", "tiny"))} isolated-vm's time, for a process boundary and an OS lockdown isolated-vm does not have "
            + "(warm mode: next line).";
        yield return "**Warm mode** (a reused isolate, a fresh context per execution; Warden with `IsolationUnit.Context`), each figure's time ÷ isolated-vm's warm time: "
            + string.Join("; ", WarmWorkloads.Select(w =>
                $"{WarmLabel(w)}: isolated-vm {Ms(WarmBaseline, w)}, Warden {Ms("warden", w)} ({X(Ratio("warden", w, WarmBaseline))}), "
                + $"over HTTP {Ms("warden-http", w)} ({X(Ratio("warden-http", w, WarmBaseline))}), the engine alone {Ms("warden-engine", w)} ({X(Ratio("warden-engine", w, WarmBaseline))})"))
            + $". Tiny executions per second, one at a time: isolated-vm {Rate(WarmBaseline, "tiny-warm")}, Warden {Rate("warden", "tiny-warm")}, over HTTP {Rate("warden-http", "tiny-warm")}.";
        yield return $"**fib(30), JS on V8:** Warden {Ms("warden", "fib")} end to end vs Node 24 (`vm`, ordinary global) {Ms("node-vm", "fib")}: "
            + $"Warden takes {X(1 / Ratio("node-vm", "fib"))} Node's time; the engine alone {Ms("warden-engine", "fib")}, isolated-vm {Ms("isolated-vm", "fib")}.";
        yield return $"**JS on V8 vs QuickJS in wasm:** fib(30) in quickjs-emscripten {Ms("quickjs", "fib")}, {X(Ratio("quickjs", "fib", "warden-engine"))} V8's time (engine alone); "
            + $"the JSON transform {X(Ratio("quickjs", "json", "warden-engine"))}; but a tiny execution in a fresh QuickJS runtime costs {Ms("quickjs", "tiny")} against V8's "
            + $"{Ms("warden-engine", "tiny")} for a fresh isolate. Jint (an interpreter in .NET): fib {X(Ratio("jint", "fib", "warden-engine"))} V8's time, a tiny execution {Ms("jint", "tiny")}.";
        yield return "**Kill latency** (`while(true){}` with a 50 ms limit, time until control returns): "
            + string.Join(", ", ComparePlan.AllSystems.Select(s => (s, f: Find(s, "kill"))).Where(x => x.f is not null)
                .Select(x => $"{x.s} {N(x.f!.Latency.Median)} ms{(x.f.AllTrue("nextOk") ? "" : " (next execution failed)")}")) + ".";
        foreach (var bomb in new[] { "heap-bomb", "buffer-bomb" })
        {
            yield return $"**{bomb}** (64 MB limit): " + string.Join("; ", ComparePlan.AllSystems.Select(s => figures.FirstOrDefault(f => f.System == s && f.Workload == bomb))
                .Where(f => f is not null).Select(f => f!.Supported
                    ? $"{f.System} {(f.AllTrue("stopped") ? "stopped" : "NOT stopped as a limit")} in {N(f.Latency.Median)} ms, peak {f.Result("peakRssMb")} MB, host {(f.AllTrue("hostAlive") ? "fine" : "HURT")}"
                    : $"{f.System}: {Short(f.Note)}")) + ".";
        }
        yield return "**Churn** (~1 GB allocated, little kept, 64 MB limit — stopping it is a false positive): "
            + string.Join(", ", ComparePlan.AllSystems.Select(s => Find(s, "churn")).Where(f => f is not null)
                .Select(f => $"{f!.System} {(f.AllTrue("completed") ? "completed" : "FALSE POSITIVE")} ({N(f.Latency.Median)} ms)")) + ".";
        yield return "**Hostile mix** (90% tiny, 10% 200 ms hogs, 4 in flight; benign latency): "
            + string.Join(", ", ComparePlan.AllSystems.Select(s => Find(s, "mix")).Where(f => f is not null)
                .Select(f => $"{f!.System} p50 {N(f.Latency.Median)} ms, p99 {N(f.P99.Median)} ms, {f.PerSecond.Median.ToString("F0", Inv)} benign/s")) + ".";
    }

    private static string WorkloadText(string workload) => workload switch
    {
        "tiny" => "`JSON.stringify({sum: input.a + input.b})` with a small JSON input, one after another, each in a fresh isolation unit.",
        "tiny-warm" => "The same, reusing a warm isolate/runtime with a fresh context where the system offers it. Ratios against isolated-vm's warm mode.",
        "fib-warm" => "`fib(30)` in a warm isolate/runtime with a fresh context each time. Ratios against isolated-vm's warm mode.",
        "json-warm" => "The JSON transform in a warm isolate/runtime with a fresh context each time. Ratios against isolated-vm's warm mode.",
        "churn-warm" => "Churn in a warm isolate/runtime with a fresh context each time; must complete. Ratios against isolated-vm's warm mode.",
        "fib" => "Recursive `fib(30)` (832040).",
        "json" => "Build a ~850 KB JSON text, parse it, map it, stringify the result.",
        "kill" => "`while(true){}` with a 50 ms limit: the time until control returns; then a tiny execution must work.",
        "heap-bomb" => "Objects pushed onto an array forever, 64 MB limit: time to stop, peak memory, host survival.",
        "buffer-bomb" => "1 MB ArrayBuffers kept forever (off the V8 heap), 64 MB limit.",
        "churn" => "~1 GB allocated in 64 KB arrays, almost nothing kept, 64 MB limit: must complete.",
        "mix" => "Four callers in flight; every 10th execution is `while(true){}` with a 200 ms limit, the rest tiny. Latency and rate of the benign ones.",
        _ => "",
    };

    private static string Results(Figure figure) =>
        string.Join(", ", figure.Runs[^1].Results.Select(kv => $"{kv.Key}: {Short(kv.Value.ToString())}"));

    private static string Short(string? text) => text is null ? "" : text.Length > 90 ? text[..90] + "…" : text;

    private static string Escape(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);

    private static string N(double ms) => double.IsNaN(ms) ? "n/a" : ms < 10 ? ms.ToString("F2", Inv) : ms < 100 ? ms.ToString("F1", Inv) : ms.ToString("F0", Inv);

    private static string X(double ratio) => double.IsNaN(ratio) ? "n/a" : ratio.ToString("F2", Inv) + "×";

    private static string DescribeMachine()
    {
        string cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?";
        string memory = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal", StringComparison.Ordinal)) is { } m
            ? (long.Parse(m.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], Inv) / 1048576.0).ToString("F0", Inv) + " GiB" : "?";
        string os = File.Exists("/etc/os-release")
            ? File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))?.Split('=', 2)[1].Trim('"') ?? "?" : "?";
        return $"{Environment.ProcessorCount} cores ({cpu}), {memory} memory, {os}, kernel {File.ReadAllText("/proc/sys/kernel/osrelease").Trim()}";
    }
}
