using System.Diagnostics;
using System.Text.Json;
using Warden.Bench.Runner;

namespace Warden.Bench.Compare;

/// <summary>
/// <c>Warden.Bench compare [--quick|--full] [--systems a,b] [--workloads x,y]</c>: runs every system's
/// runner on every workload, one child process per figure and repetition, with progress on stderr;
/// writes bench/results/&lt;mode&gt;.md, .json and .png.
/// </summary>
internal static class CompareCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (Option(args, "--from") is [var from])
        {
            return await RedrawAsync(from);
        }
        var plan = args.Contains("--full") ? ComparePlan.Full : ComparePlan.Quick;
        string[] systems = Option(args, "--systems") ?? ComparePlan.AllSystems;
        string[] workloads = Option(args, "--workloads") ?? Workloads.Names;
        string workloadsPath = Workloads.DefaultPath();
        string root = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(workloadsPath)!, "..", ".."));

        var clock = Stopwatch.StartNew();
        Progress($"installing peers (bench/.peers) ...");
        var peers = Peers.Install(root);
        Progress(peers.InstallError is null
            ? $"peers: node {peers.NodeVersion}, isolated-vm {peers.IsolatedVm}, quickjs-emscripten {peers.QuickJs}, deno {peers.DenoVersion}, jint {peers.JintVersion}"
            : "peers: " + peers.InstallError);

        var figures = new List<Figure>();
        int total = workloads.Length * systems.Length, done = 0;
        foreach (var workload in workloads)
        {
            foreach (var system in systems)
            {
                done++;
                var runs = new List<RunnerResult>();
                string? failure = null;
                for (int rep = 0; rep < plan.Repetitions && failure is null; rep++)
                {
                    var (start, unavailable) = peers.Runner(system, workload, plan.Arguments(workload), workloadsPath);
                    if (start is null)
                    {
                        failure = unavailable;
                        break;
                    }
                    (var result, failure) = await RunOnceAsync(start, system, workload);
                    if (result is not null)
                    {
                        runs.Add(result);
                        if (!result.Supported)
                        {
                            break;
                        }
                    }
                }
                var figure = new Figure(system, workload, runs, failure);
                figures.Add(figure);
                Progress($"[{done}/{total}] {workload,-11} {system,-13} {Summary(figure)}  ({clock.Elapsed.TotalSeconds:F0} s)");
            }
        }

        var report = new CompareReport(plan, report: null, peers.Versions(), figures, clock.Elapsed, DateTime.UtcNow);
        string directory = Path.Combine(root, "bench", "results");
        Directory.CreateDirectory(directory);
        await WriteAsync(report, Path.Combine(directory, plan.Mode));
        Progress($"wrote bench/results/{plan.Mode}.md, .json and .png in {clock.Elapsed.TotalSeconds:F0} s");
        return 0;
    }

    private static async Task WriteAsync(CompareReport report, string baseName)
    {
        await File.WriteAllTextAsync(baseName + ".md", report.Markdown(Path.GetFileName(baseName) + ".png"));
        await File.WriteAllTextAsync(baseName + ".json", JsonSerializer.Serialize(new StoredRun(report.Plan.Mode, report.Date, report.Elapsed.TotalSeconds,
            report.Machine, report.Versions, [.. report.Figures.Select(f => new StoredFigure(f.System, f.Workload, f.Failure, [.. f.Runs.Select(Bounded)]))]),
            new JsonSerializerOptions(RunnerResult.Json) { WriteIndented = true }));
        RatioChart.Write(report, baseName + ".png");
    }

    /// <summary><c>--from bench/results/full.json</c>: the report and chart again from stored results (after a change to the report's text).</summary>
    private static async Task<int> RedrawAsync(string path)
    {
        var stored = JsonSerializer.Deserialize<StoredRun>(await File.ReadAllTextAsync(path), RunnerResult.Json)!;
        var plan = stored.Mode == "full" ? ComparePlan.Full : ComparePlan.Quick;
        var figures = stored.Figures.Select(f => new Figure(f.System, f.Workload, f.Runs, f.Failure)).ToList();
        var report = new CompareReport(plan, stored.Machine, stored.Versions, figures, TimeSpan.FromSeconds(stored.ElapsedSeconds), stored.Date);
        await WriteAsync(report, Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, Path.GetFileNameWithoutExtension(path)));
        Progress($"redrew {path}");
        return 0;
    }

    private sealed record StoredRun(string Mode, DateTime Date, double ElapsedSeconds, string Machine, Dictionary<string, string> Versions, List<StoredFigure> Figures);

    private sealed record StoredFigure(string System, string Workload, string? Failure, List<RunnerResult> Runs);

    private static async Task<(RunnerResult? Result, string? Failure)> RunOnceAsync(ProcessStartInfo start, string system, string workload)
    {
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdoutRead = process.StandardOutput.ReadToEndAsync();
        // Nothing runs longer than a few minutes; a runner that hangs is itself a result. The bound covers the
        // read too: a runner that printed its line but never exits keeps its stdout open (seen once: a
        // quickjs-emscripten runner after the kill workload), and would otherwise stall the whole comparison.
        bool exited = await Task.WhenAny(stdoutRead, Task.Delay(TimeSpan.FromMinutes(5))) == stdoutRead
            && process.WaitForExit(TimeSpan.FromSeconds(10));
        if (!exited)
        {
            process.Kill(entireProcessTree: true);
            string printed = await stdoutRead;
            // Its line, when it printed one before hanging, is still its result.
            if (!printed.Split('\n').Any(l => l.TrimStart().StartsWith('{')))
            {
                return (null, "runner hung (killed after 5 minutes)");
            }
        }
        string stdout = await stdoutRead;
        string? line = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault(l => l.StartsWith('{'));
        if (line is null)
        {
            // The last meaningful stderr line says why (V8's "Fatal JavaScript out of memory", ...).
            string why = (await stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .LastOrDefault(l => l.Trim('#', ' ').Length > 0)?.Trim('#', ' ') ?? "";
            why = why.Length > 120 ? why[..120] : why;
            return (null, $"runner died (exit {process.ExitCode}{SignalName(process.ExitCode)}): the host did not survive. {why}".Trim());
        }
        try
        {
            var result = JsonSerializer.Deserialize<RunnerResult>(line, RunnerResult.Json)!;
            return (result with { System = system, Workload = workload }, null);
        }
        catch (JsonException e)
        {
            return (null, "unreadable runner output: " + e.Message);
        }
    }

    /// <summary>
    /// A run as stored in the JSON file: every sample up to 5000; beyond that (a sub-millisecond
    /// system runs hundreds of thousands in a few seconds) an evenly spaced 5000 of them, in order,
    /// with the count of all. The report's figures are computed from every sample before this.
    /// </summary>
    private static RunnerResult Bounded(RunnerResult run)
    {
        const int Keep = 5000;
        if (run.SamplesMs.Count <= Keep)
        {
            return run;
        }
        double step = run.SamplesMs.Count / (double)Keep;
        return run with
        {
            SamplesMs = [.. Enumerable.Range(0, Keep).Select(i => run.SamplesMs[(int)(i * step)])],
            Note = (run.Note is null ? "" : run.Note + "; ") + $"samplesMs: {Keep} evenly spaced of {run.SamplesMs.Count}",
        };
    }

    private static string SignalName(int exitCode) => exitCode > 128 ? $", signal {exitCode - 128}" : "";

    private static string Summary(Figure figure)
    {
        if (!figure.Supported)
        {
            return "n/a: " + figure.Note;
        }
        var (median, min, max) = figure.Latency;
        return $"median {median:F2} ms (min {min:F2}, max {max:F2}), n={figure.Runs.Sum(r => r.Count)} "
            + string.Join(" ", figure.Runs[^1].Results.Select(kv => $"{kv.Key}={Short(kv.Value.ToString())}"));
    }

    private static string Short(string text) => text.Length > 60 ? text[..60] + "..." : text;

    private static void Progress(string line) => Console.Error.WriteLine("bench: " + line);

    private static string[]? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1].Split(',', StringSplitOptions.RemoveEmptyEntries) : null;
    }
}
