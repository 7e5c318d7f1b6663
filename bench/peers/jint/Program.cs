// Peer runner for Jint (bench/peers/PROTOCOL.md):
//   Warden.Bench.Jint.dll jint <workload> [--seconds S] [--reps R] [--concurrency C] [--workloads PATH]
// prints exactly one JSON line on stdout, whatever happens.
//
// Isolation unit per execution: a new Jint.Engine with LimitMemory, TimeoutInterval, a CancellationToken
// (a CancellationTokenSource cancelled after the same limit, as a backstop), LimitRecursion(1000) and no
// MaxStatements. The JavaScript is read at run time from workloads.mjs.

using System.Diagnostics;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Jint;

namespace Warden.Bench.Jint;

internal sealed record Exec(string? Value, Exception? Error, double Ms)
{
    public string How => Error?.GetType().Name ?? "completed";
}

internal static partial class Program
{
    private const int RecursionLimit = 1000;
    private const long Mb = 1024L * 1024;

    // Exceptions through which Jint reports that one of its constraints stopped the script.
    private static readonly HashSet<string> LimitExceptions = new(StringComparer.Ordinal)
    {
        "MemoryLimitExceededException", "TimeoutException", "ExecutionCanceledException",
        "StatementsCountOverflowException", "RecursionDepthOverflowException", "OperationCanceledException",
    };

    private static int Main(string[] args)
    {
        var output = new JsonObject
        {
            ["system"] = args.Length > 0 ? args[0] : "jint",
            ["workload"] = args.Length > 1 ? args[1] : null,
            ["supported"] = true,
            ["note"] = null,
            ["samplesMs"] = new JsonArray(),
            ["count"] = 0,
            ["elapsedMs"] = 0.0,
            ["results"] = null,
        };
        try
        {
            Run(args, output);
        }
        catch (Exception e)
        {
            output["error"] = $"{e.GetType().Name}: {e.Message}";
        }
        Console.Out.WriteLine(output.ToJsonString(new JsonSerializerOptions { WriteIndented = false, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
        Console.Out.Flush();
        return 0;
    }

    private static void Run(string[] args, JsonObject output)
    {
        if (args.Length < 2)
        {
            throw new ArgumentException("usage: <system> <workload> [--seconds S] [--reps R] [--concurrency C] [--workloads PATH]");
        }
        string system = args[0];
        string workload = args[1];
        double? seconds = null;
        int? reps = null;
        int? concurrency = null;
        string? workloadsPath = null;
        for (int i = 2; i < args.Length; i++)
        {
            string value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"missing value for {args[i]}");
            switch (args[i])
            {
                case "--seconds": seconds = double.Parse(value, CultureInfo.InvariantCulture); break;
                case "--reps": reps = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--concurrency": concurrency = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--workloads": workloadsPath = value; break;
                default: throw new ArgumentException($"unknown argument {args[i]}");
            }
            i++;
        }
        if (system != "jint")
        {
            output["supported"] = false;
            output["note"] = $"this runner only drives the system 'jint', not '{system}'";
            return;
        }
        if (workload.EndsWith("-warm", StringComparison.Ordinal))
        {
            output["supported"] = false;
            output["note"] = "Jint's unit is the Engine; there is no cheaper context to create inside a reused one";
            return;
        }

        var js = LoadWorkloads(workloadsPath);
        string Code(string name) => js.TryGetValue(name, out var c) ? c : throw new InvalidOperationException($"workloads.mjs has no '{name}'");

        var samples = new List<double>();
        var results = new JsonObject();
        var elapsed = Stopwatch.StartNew();
        switch (workload)
        {
            case "tiny":
                {
                    string code = Code("tiny"), input = Code("tinyInput");
                    var limit = TimeSpan.FromMilliseconds(1000);
                    Warm(() => Execute(code, input, limit, 64 * Mb), TimeSpan.FromSeconds(1), int.MaxValue);
                    elapsed.Restart();
                    var until = TimeSpan.FromSeconds(seconds ?? 5);
                    int wrong = 0;
                    while (elapsed.Elapsed < until)
                    {
                        var r = Execute(code, input, limit, 64 * Mb);
                        samples.Add(r.Ms);
                        if (r.Value != "{\"sum\":3}") wrong++;
                    }
                    results["wrong"] = wrong;
                    break;
                }
            case "fib":
            case "json":
                {
                    string code = Code(workload);
                    var limit = TimeSpan.FromSeconds(10);
                    long mem = (workload == "fib" ? 64 : 256) * Mb;
                    Warm(() => Execute(code, null, limit, mem), TimeSpan.FromSeconds(1), 3);
                    elapsed.Restart();
                    Exec? last = null;
                    var errors = new List<string>();
                    for (int i = 0; i < (reps ?? 5); i++)
                    {
                        Collect();
                        last = Execute(code, null, limit, mem);
                        samples.Add(last.Ms);
                        if (last.Error is not null) errors.Add($"{last.How}: {last.Error.Message}");
                    }
                    if (workload == "fib")
                    {
                        results["value"] = last?.Value is { } v && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null;
                    }
                    else
                    {
                        // The completion is "<input text length>:<output length>".
                        string? v = last?.Value;
                        int colon = v?.IndexOf(':', StringComparison.Ordinal) ?? -1;
                        results["length"] = colon >= 0 && int.TryParse(v![(colon + 1)..], NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : null;
                        results["value"] = v;
                    }
                    if (errors.Count > 0) results["errors"] = new JsonArray(errors.Distinct().Select(e => (JsonNode?)e).ToArray());
                    break;
                }
            case "kill":
                {
                    string code = Code("kill"), tiny = Code("tiny"), input = Code("tinyInput");
                    var limit = TimeSpan.FromMilliseconds(50);
                    Warm(() => Execute(code, null, limit, 64 * Mb), TimeSpan.FromSeconds(1), 3);
                    elapsed.Restart();
                    bool stopped = true, nextOk = true;
                    var hows = new List<string>();
                    for (int i = 0; i < (reps ?? 5); i++)
                    {
                        var r = Execute(code, null, limit, 64 * Mb);
                        samples.Add(r.Ms);
                        hows.Add(r.How);
                        stopped &= r.Error is not null && LimitExceptions.Contains(r.How);
                        nextOk &= Execute(tiny, input, TimeSpan.FromMilliseconds(1000), 64 * Mb).Value == "{\"sum\":3}";
                    }
                    results["stopped"] = stopped;
                    results["nextOk"] = nextOk;
                    results["how"] = string.Join(",", hows.Distinct());
                    break;
                }
            case "heap-bomb":
            case "buffer-bomb":
                {
                    string code = Code(workload == "heap-bomb" ? "heapBomb" : "bufferBomb"), tiny = Code("tiny"), input = Code("tinyInput");
                    var limit = TimeSpan.FromSeconds(10);
                    Warm(() => Execute(code, null, limit, 64 * Mb), TimeSpan.FromSeconds(1), 3);
                    elapsed.Restart();
                    bool stopped = true, hostAlive = true;
                    var hows = new List<string>();
                    for (int i = 0; i < (reps ?? 3); i++)
                    {
                        Collect();
                        var r = Execute(code, null, limit, 64 * Mb);
                        samples.Add(r.Ms);
                        hows.Add(r.How);
                        stopped &= r.Error is not null && LimitExceptions.Contains(r.How);
                        Collect();
                        hostAlive &= Execute(tiny, input, TimeSpan.FromMilliseconds(1000), 64 * Mb).Value == "{\"sum\":3}";
                    }
                    results["stopped"] = stopped;
                    results["how"] = string.Join(",", hows.Distinct());
                    results["peakRssMb"] = PeakRssMb();
                    results["hostAlive"] = hostAlive;
                    break;
                }
            case "churn":
                {
                    string code = Code("churn");
                    var limit = TimeSpan.FromSeconds(20);
                    Warm(() => Execute(code, null, limit, 64 * Mb), TimeSpan.FromSeconds(1), 3);
                    elapsed.Restart();
                    bool completed = true;
                    Exec? last = null;
                    var hows = new List<string>();
                    for (int i = 0; i < (reps ?? 3); i++)
                    {
                        Collect();
                        last = Execute(code, null, limit, 64 * Mb);
                        samples.Add(last.Ms);
                        hows.Add(last.How);
                        completed &= last.Error is null && last.Value == "8192";
                    }
                    results["completed"] = completed;
                    results["value"] = last?.Value is { } v && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null;
                    results["how"] = string.Join(",", hows.Distinct());
                    break;
                }
            case "mix":
                {
                    string tiny = Code("tiny"), input = Code("tinyInput"), hog = Code("kill");
                    int c = Math.Max(1, concurrency ?? 4);
                    // Each execution blocks a pool thread; without this the pool would inject threads slowly
                    // and the queueing delay would be measured instead of Jint.
                    ThreadPool.GetMinThreads(out int minWorkers, out int minIo);
                    ThreadPool.SetMinThreads(Math.Max(minWorkers, 2 * c + 2), minIo);
                    Warm(() => Execute(tiny, input, TimeSpan.FromMilliseconds(1000), 64 * Mb), TimeSpan.FromSeconds(1), int.MaxValue);
                    elapsed.Restart();
                    var until = TimeSpan.FromSeconds(seconds ?? 5);
                    long next = 0;
                    int benign = 0, hogs = 0, benignWrong = 0, hogsNotStopped = 0;
                    var gate = new Lock();
                    async Task Loop()
                    {
                        while (elapsed.Elapsed < until)
                        {
                            long n = Interlocked.Increment(ref next);
                            bool isHog = n % 10 == 0;
                            var r = await Task.Run(() => isHog
                                ? Execute(hog, null, TimeSpan.FromMilliseconds(200), 64 * Mb)
                                : Execute(tiny, input, TimeSpan.FromMilliseconds(1000), 64 * Mb)).ConfigureAwait(false);
                            lock (gate)
                            {
                                if (isHog)
                                {
                                    hogs++;
                                    if (r.Error is null || !LimitExceptions.Contains(r.How)) hogsNotStopped++;
                                }
                                else
                                {
                                    benign++;
                                    samples.Add(r.Ms);
                                    if (r.Value != "{\"sum\":3}") benignWrong++;
                                }
                            }
                        }
                    }
                    Task.WaitAll(Enumerable.Range(0, c).Select(_ => Loop()).ToArray());
                    results["benign"] = benign;
                    results["hogs"] = hogs;
                    results["benignWrong"] = benignWrong;
                    results["hogsNotStopped"] = hogsNotStopped;
                    break;
                }
            default:
                output["supported"] = false;
                output["note"] = $"unknown workload '{workload}'";
                return;
        }
        elapsed.Stop();
        output["samplesMs"] = new JsonArray(samples.Select(s => (JsonNode?)Math.Round(s, 4)).ToArray());
        output["count"] = samples.Count;
        output["elapsedMs"] = Math.Round(elapsed.Elapsed.TotalMilliseconds, 3);
        output["results"] = results;
    }

    /// <summary>One whole execution: new engine, input, run, result to a .NET string, dispose.</summary>
    private static Exec Execute(string code, string? inputJson, TimeSpan limit, long memoryBytes)
    {
        var sw = Stopwatch.StartNew();
        string? value = null;
        Exception? error = null;
        try
        {
            using var cts = new CancellationTokenSource(limit);
            using var engine = new Engine(o => o
                .LimitMemory(memoryBytes)
                .TimeoutInterval(limit)
                .CancellationToken(cts.Token)
                .LimitRecursion(RecursionLimit));
            if (inputJson is not null)
            {
                engine.SetValue("__inputText", inputJson);
                engine.Evaluate("globalThis.input = JSON.parse(__inputText)");
            }
            var completion = engine.Evaluate(code);
            if (completion.IsString() || completion.IsNumber())
            {
                value = completion.ToString();
            }
            else
            {
                error = new InvalidOperationException($"completion value is not a string or number but {completion.Type}");
            }
        }
        catch (Exception e)
        {
            error = e;
        }
        sw.Stop();
        return new Exec(value, error, sw.Elapsed.TotalMilliseconds);
    }

    /// <summary>Unmeasured warm-up: until <paramref name="time"/> has passed or <paramref name="max"/> executions ran (at least one).</summary>
    private static void Warm(Func<Exec> run, TimeSpan time, int max)
    {
        var sw = Stopwatch.StartNew();
        int n = 0;
        do
        {
            run();
            n++;
        }
        while (n < max && sw.Elapsed < time);
        Collect();
    }

    private static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    private static double? PeakRssMb()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    var kb = long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                    return Math.Round(kb / 1024.0, 1);
                }
            }
        }
        catch (IOException)
        {
        }
        return null;
    }

    [GeneratedRegex(@"export\s+const\s+(\w+)\s*=\s*(?:String\.raw\s*)?`([^`]*)`\s*;")]
    private static partial Regex ExportPattern();

    private static Dictionary<string, string> LoadWorkloads(string? path)
    {
        path ??= FindWorkloads() ?? throw new FileNotFoundException("workloads.mjs not found; pass --workloads PATH");
        var text = File.ReadAllText(path);
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match m in ExportPattern().Matches(text))
        {
            map[m.Groups[1].Value] = m.Groups[2].Value;
        }
        return map;
    }

    private static string? FindWorkloads()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                foreach (var candidate in new[] { "workloads.mjs", Path.Combine("bench", "peers", "workloads.mjs") })
                {
                    var p = Path.Combine(dir.FullName, candidate);
                    if (File.Exists(p)) return p;
                }
            }
        }
        return null;
    }
}
