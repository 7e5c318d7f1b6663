using System.Diagnostics;
using System.Globalization;
using Warden.Bench.Compare;

namespace Warden.Bench;

/// <summary>
/// What a flood of hostile one-liners from one isolation key costs another key: the benign key runs
/// a tiny script in a loop (one in flight) while the flooding key submits one-liners back to back
/// (one in flight), first without the flood, then with it. Reports the benign latencies, the
/// flood's outcomes and how many workers were started (each worker lost to a one-liner costs about a
/// second of CPU to replace, on the same cores the benign key runs on).
/// Usage: Warden.Bench flood [memory|builtins|cpu|all] [seconds] [flood-timeout-ms] [flood-in-flight]
/// </summary>
internal static class FloodCommand
{
    /// <summary>Memory bombs, each ended by an engine abort, the worker's self-exit or its cgroup.</summary>
    private static readonly string[] MemoryOneLiners =
    [
        "new Array(2 ** 28).fill(1.5); 1",
        "const m = new Map(); for (let i = 0; ; i++) m.set(i, i + 0.5)",
        "const keep = []; for (;;) keep.push(new Uint8Array(1 << 24).fill(1))",
        "let x = {}; for (;;) x = { next: x, pad: [1, 2, 3, 4] }",
        "const keep = []; for (;;) keep.push(new Intl.Collator('de'), new Intl.NumberFormat('en'))",
    ];

    /// <summary>Built-ins that ignore interrupts on huge receivers (issue 11, point 6).</summary>
    private static readonly string[] BuiltinOneLiners =
    [
        "Array.prototype.includes.call({ length: 2 ** 32 }, 1)",
        "Array.prototype.indexOf.call({ length: 2 ** 32 }, 1)",
        "Array.prototype.reverse.call({ length: 2 ** 32 })",
        "Array.prototype.join.call({ length: 2 ** 32 })",
        "Array.from({ length: 1e9 })",
        "Array.from({ length: 4e6 }, (_, i) => i * 7919 % 4e6).sort().length",
    ];

    public static async Task RunAsync(string[] args)
    {
        string kind = args.Length > 0 ? args[0] : "all";
        double seconds = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 20;
        int floodTimeoutMs = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 2000;
        int inFlight = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 1;
        string[] oneLiners = kind switch
        {
            "memory" => MemoryOneLiners,
            "builtins" => BuiltinOneLiners,
            // The reference: a plain interruptible CPU hog, which costs no worker.
            "cpu" => ["while (true) {}"],
            _ => [.. MemoryOneLiners, .. BuiltinOneLiners],
        };
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd}; flood: {kind}, {seconds} s per phase, {inFlight} in flight at {floodTimeoutMs} ms");
        Console.WriteLine("| phase | benign executions | benign p50 ms | benign p99 ms | benign max ms | flood outcomes | workers started |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (bool flood in new[] { false, true })
        {
            await using var sandbox = new Sandbox(new SandboxOptions { MaxWorkers = Environment.ProcessorCount, SpareWorkers = 1 });
            await sandbox.WarmUpAsync();
            var benignSubmission = new Submission { Code = "JSON.stringify({ sum: input.a + input.b })", InputJson = "{\"a\":1,\"b\":2}", IsolationKey = "benign" };
            for (int i = 0; i < 20; i++)
            {
                await sandbox.RunAsync(benignSubmission);
            }
            long startsBefore = sandbox.Statistics.WorkersStarted;
            var clock = Stopwatch.StartNew();
            var deadline = TimeSpan.FromSeconds(seconds);
            var benign = Task.Run(async () =>
            {
                var latencies = new List<double>();
                while (clock.Elapsed < deadline)
                {
                    long start = Stopwatch.GetTimestamp();
                    var outcome = await sandbox.RunAsync(benignSubmission);
                    if (outcome.Status != OutcomeStatus.Ok)
                    {
                        throw new InvalidOperationException(outcome.ToJson());
                    }
                    latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
                return latencies;
            });
            var outcomes = new Dictionary<string, int>();
            var flooder = !flood ? Task.CompletedTask : Task.WhenAll(Enumerable.Range(0, inFlight).Select(lane => Task.Run(async () =>
            {
                for (int i = lane; clock.Elapsed < deadline; i++)
                {
                    var outcome = await sandbox.RunAsync(new Submission
                    {
                        Code = oneLiners[i % oneLiners.Length],
                        IsolationKey = "flooder",
                        Limits = new ExecutionLimits(TimeoutMs: floodTimeoutMs, MemoryMb: 64),
                    });
                    string key = outcome.Status + (outcome.Error?.Limit is { } limit ? "/" + limit : "");
                    lock (outcomes)
                    {
                        outcomes[key] = outcomes.GetValueOrDefault(key) + 1;
                    }
                }
            })));
            var latencies = await benign;
            await flooder;
            latencies.Sort();
            string summary = flood ? string.Join(", ", outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key} {o.Value}")) : "none";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {(flood ? "flood" : "alone")} | {latencies.Count} | {Figure.Percentile(latencies, 0.5):F1} | {Figure.Percentile(latencies, 0.99):F1} | {latencies[^1]:F1} | {summary} | {sandbox.Statistics.WorkersStarted - startsBefore} |"));
        }
    }

}
