using System.Diagnostics;

namespace Warden.Bench.Runner;

/// <summary>
/// Runs one workload of bench/peers/PROTOCOL.md on one of Warden's layers and measures it the way
/// the peer runners do: latency around each whole execution, from the caller's side.
/// </summary>
internal sealed class WorkloadDriver(IExecutor executor, Workloads code, RunnerArgs args)
{
    private const string Expected = "{\"sum\":3}";

    public async Task<RunnerResult> RunAsync()
    {
        // A -warm workload is its cold workload's code, limits and measurement, run by an executor in
        // its warm mode (RunnerCommand chose it); only tiny, fib, json and churn have warm variants.
        bool warm = Workloads.IsWarm(args.Workload);
        return Workloads.ColdOf(args.Workload) switch
        {
            "tiny" => await TinyAsync(),
            "fib" => await RepeatedAsync(code["fib"], 10_000, 64, v => new { value = v }),
            "json" => await RepeatedAsync(code["json"], 10_000, 256, v => new { length = v }),
            "churn" => await ChurnAsync(warmUps: warm ? 2 : 0),
            "kill" when !warm => await KillAsync(),
            "heap-bomb" when !warm => await BombAsync(code["heapBomb"]),
            "buffer-bomb" when !warm => await BombAsync(code["bufferBomb"]),
            "mix" when !warm => await MixAsync(),
            _ => throw new ArgumentException("unknown workload " + args.Workload),
        };
    }

    private Task<Execution> TinyOnceAsync(int timeoutMs = 1000) => executor.RunAsync(code["tiny"], code["tinyInput"], timeoutMs, 64);

    private static async Task<(double Ms, Execution Result)> TimedAsync(Func<Task<Execution>> run)
    {
        long start = Stopwatch.GetTimestamp();
        var result = await run();
        return (Stopwatch.GetElapsedTime(start).TotalMilliseconds, result);
    }

    private async Task<RunnerResult> TinyAsync()
    {
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed < TimeSpan.FromSeconds(1))
        {
            await TinyOnceAsync();
        }
        await executor.SettleAsync();
        var samples = new List<double>();
        int wrong = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(args.Seconds))
        {
            var (ms, result) = await TimedAsync(() => TinyOnceAsync());
            samples.Add(ms);
            wrong += result.Value == Expected ? 0 : 1;
        }
        return Result(samples, clock.Elapsed.TotalMilliseconds, new { wrong });
    }

    private async Task<RunnerResult> RepeatedAsync(string js, int timeoutMs, int memoryMb, Func<string?, object> describe)
    {
        for (int i = 0; i < 2; i++)
        {
            await executor.RunAsync(js, null, timeoutMs, memoryMb);
        }
        await executor.SettleAsync();
        var samples = new List<double>();
        Execution last = null!;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < args.Reps; i++)
        {
            (double ms, last) = await TimedAsync(() => executor.RunAsync(js, null, timeoutMs, memoryMb));
            samples.Add(ms);
        }
        return Result(samples, clock.Elapsed.TotalMilliseconds, describe(last.Status == "ok" ? last.Value : last.Status + ": " + last.Detail));
    }

    private async Task<RunnerResult> KillAsync()
    {
        await TinyOnceAsync();
        await executor.SettleAsync();
        var samples = new List<double>();
        bool stopped = true, nextOk = true;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < args.Reps; i++)
        {
            var (ms, result) = await TimedAsync(() => executor.RunAsync(code["kill"], null, 50, 64));
            samples.Add(ms);
            stopped &= result.Status == "timeout";
            nextOk &= (await TinyOnceAsync()).Value == Expected;
        }
        return Result(samples, clock.Elapsed.TotalMilliseconds, new { stopped, nextOk });
    }

    private async Task<RunnerResult> BombAsync(string js)
    {
        await TinyOnceAsync();
        await executor.SettleAsync();
        var samples = new List<double>();
        string how = "";
        bool stopped = true, hostAlive = true;
        double peak = 0;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < args.Reps; i++)
        {
            var (ms, result) = await TimedAsync(() => executor.RunAsync(js, null, 10_000, 64));
            samples.Add(ms);
            stopped &= result.Status == "memory_limit";
            how = result.Status + (result.Detail is { } d ? ": " + d : "");
            peak = Math.Max(peak, result.MemoryMb > 0 ? result.MemoryMb : ProcessPeakRssMb());
            hostAlive &= (await TinyOnceAsync()).Value == Expected;
        }
        return Result(samples, clock.Elapsed.TotalMilliseconds, new { stopped, how, peakRssMb = Math.Round(peak, 1), hostAlive });
    }

    private async Task<RunnerResult> ChurnAsync(int warmUps)
    {
        // churn-warm: the warm isolate is made (and reused) before the measured executions, as the
        // other warm workloads' warm-up does (cold churn is measured as before, without a warm-up).
        for (int i = 0; i < warmUps; i++)
        {
            await executor.RunAsync(code["churn"], null, 20_000, 64);
        }
        if (warmUps > 0)
        {
            await executor.SettleAsync();
        }
        var samples = new List<double>();
        bool completed = true;
        string? value = null;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < args.Reps; i++)
        {
            var (ms, result) = await TimedAsync(() => executor.RunAsync(code["churn"], null, 20_000, 64));
            samples.Add(ms);
            completed &= result.Value == "8192";
            value = result.Status == "ok" ? result.Value : result.Status + ": " + result.Detail;
        }
        return Result(samples, clock.Elapsed.TotalMilliseconds, new { completed, value });
    }

    private async Task<RunnerResult> MixAsync()
    {
        int concurrency = args.Concurrency > 0 ? args.Concurrency : 4;
        for (int i = 0; i < concurrency * 4; i++)
        {
            await TinyOnceAsync();
        }
        await executor.SettleAsync();
        int counter = 0, hogs = 0, benignWrong = 0;
        var samples = new List<double>();
        var gate = new object();
        var clock = Stopwatch.StartNew();
        var loops = Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            while (clock.Elapsed < TimeSpan.FromSeconds(args.Seconds))
            {
                // Every 10th execution, across all loops, is a hog.
                bool hog = Interlocked.Increment(ref counter) % 10 == 0;
                var (ms, result) = await TimedAsync(() => hog ? executor.RunAsync(code["kill"], null, 200, 64) : TinyOnceAsync());
                lock (gate)
                {
                    if (hog)
                    {
                        hogs++;
                    }
                    else
                    {
                        samples.Add(ms);
                        benignWrong += result.Value == Expected ? 0 : 1;
                    }
                }
            }
        })).ToArray();
        await Task.WhenAll(loops);
        return Result(samples, clock.Elapsed.TotalMilliseconds, new { benign = samples.Count, hogs, benignWrong, concurrency });
    }

    private RunnerResult Result(List<double> samples, double elapsedMs, object results) => new()
    {
        System = args.System,
        Workload = args.Workload,
        SamplesMs = [.. samples.Select(s => Math.Round(s, 3))],
        Count = samples.Count,
        ElapsedMs = Math.Round(elapsedMs, 1),
        Results = RunnerResult.Values(results),
    };

    /// <summary>VmHWM of this process, in MB (the engine-in-process layer holds the execution here).</summary>
    internal static double ProcessPeakRssMb()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024;
            }
        }
        return 0;
    }
}
