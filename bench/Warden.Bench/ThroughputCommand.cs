using System.Diagnostics;
using System.Globalization;

namespace Warden.Bench;

/// <summary>
/// Tiny-script throughput through the library, a fresh isolate per execution (the default and the
/// recommended isolation unit) or a fresh context in a warm isolate (<c>context</c>), at a few
/// concurrency levels, and the cost of starting a worker.
/// Usage: Warden.Bench throughput [seconds-per-level] [required|none] [worker-cpu-cores] [isolate|context] [v8|quickjs] [telemetry]
/// <c>telemetry</c>: listens to the Warden meter and activity source as an app's OpenTelemetry pipeline would
/// (every instrument and a recorded <c>warden.execute</c> activity per execution), to price them.
/// </summary>
internal static class ThroughputCommand
{
    public static async Task RunAsync(string[] args)
    {
        double seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 10;
        var isolation = args.Length > 1 && args[1] == "none" ? OsIsolationMode.Disabled : OsIsolationMode.Required;
        double cpuCores = args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : new SandboxOptions().WorkerCpuCores;
        var unit = args.Length > 3 && args[3] == "context" ? IsolationUnit.Context : IsolationUnit.Isolate;
        string engine = args.Length > 4 ? args[4] : "v8";
        var submission = new Submission { Code = "JSON.stringify({ sum: input.a + input.b })", InputJson = "{\"a\":1,\"b\":2}" };
        using var telemetry = args.Length > 5 && args[5] == "telemetry" ? new TelemetryListeners() : null;

        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd}, OS isolation {isolation}, worker CPU quota {cpuCores} cores, isolation unit {unit}, engine {engine}, telemetry {(telemetry is null ? "not listened to" : "listened to")}");

        // Worker start-up: every new isolation key needs a fresh worker process; with one worker and no
        // spare, each run below waits for a full start (launcher, namespaces, runtime, warm-up, lockdown).
        {
            await using var sandbox = new Sandbox(new SandboxOptions { MaxWorkers = 1, SpareWorkers = 0, OsIsolation = isolation, WorkerCpuCores = cpuCores, DefaultEngine = engine });
            var starts = new List<double>();
            for (int i = 0; i < 11; i++)
            {
                long start = Stopwatch.GetTimestamp();
                var outcome = await sandbox.RunAsync(submission with { IsolationKey = "startup-" + i });
                if (outcome.Status != OutcomeStatus.Ok)
                {
                    throw new InvalidOperationException(outcome.ToJson());
                }
                if (i > 0)
                {
                    starts.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds - outcome.Usage.WallMs);
                }
            }
            starts.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"worker start-up to first result (10 starts): p50 {starts[starts.Count / 2]:F0} ms, min {starts[0]:F0} ms, max {starts[^1]:F0} ms"));
        }

        Console.WriteLine("| concurrency | executions | exec/s | p50 ms | p99 ms | max ms | in-worker p50 ms |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (int concurrency in new[] { 1, 2, 4 })
        {
            await using var sandbox = new Sandbox(new SandboxOptions { MaxWorkers = Environment.ProcessorCount, SpareWorkers = 1, OsIsolation = isolation, WorkerCpuCores = cpuCores, IsolationUnit = unit, DefaultEngine = engine });
            await sandbox.WarmUpAsync();
            // Warm both the host and every worker before measuring.
            await Task.WhenAll(Enumerable.Range(0, concurrency * 20).Select(_ => sandbox.RunAsync(submission)));

            var latencies = new List<double>();
            var inWorker = new List<double>();
            var clock = Stopwatch.StartNew();
            var deadline = TimeSpan.FromSeconds(seconds);
            var loops = Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
            {
                var mine = new List<(double Total, double Worker)>();
                while (clock.Elapsed < deadline)
                {
                    long start = Stopwatch.GetTimestamp();
                    var outcome = await sandbox.RunAsync(submission);
                    if (outcome.Status != OutcomeStatus.Ok)
                    {
                        throw new InvalidOperationException(outcome.ToJson());
                    }
                    mine.Add((Stopwatch.GetElapsedTime(start).TotalMilliseconds, outcome.Usage.WallMs));
                }
                return mine;
            })).ToArray();
            foreach (var list in await Task.WhenAll(loops))
            {
                latencies.AddRange(list.Select(x => x.Total));
                inWorker.AddRange(list.Select(x => x.Worker));
            }
            inWorker.Sort();
            double elapsed = clock.Elapsed.TotalSeconds;
            latencies.Sort();
            double P(double q) => latencies[Math.Min(latencies.Count - 1, (int)(q * latencies.Count))];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {concurrency} | {latencies.Count} | {latencies.Count / elapsed:F0} | {P(0.50):F2} | {P(0.99):F2} | {latencies[^1]:F2} | {inWorker[inWorker.Count / 2]:F2} |"));
        }
    }
}

/// <summary>What an app's telemetry pipeline does with Warden's: every measurement taken, every activity recorded.</summary>
internal sealed class TelemetryListeners : IDisposable
{
    private readonly System.Diagnostics.Metrics.MeterListener _meters = new();
    private readonly ActivityListener _activities;
    private long _measurements;
    private long _activitiesStopped;

    public TelemetryListeners()
    {
        _meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == Warden.Diagnostics.WardenTelemetry.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _meters.SetMeasurementEventCallback<long>((_, _, _, _) => Interlocked.Increment(ref _measurements));
        _meters.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref _measurements));
        _meters.SetMeasurementEventCallback<int>((_, _, _, _) => Interlocked.Increment(ref _measurements));
        _meters.Start();
        _activities = new ActivityListener
        {
            ShouldListenTo = source => source.Name == Warden.Diagnostics.WardenTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _ => Interlocked.Increment(ref _activitiesStopped),
        };
        ActivitySource.AddActivityListener(_activities);
    }

    public void Dispose()
    {
        _meters.Dispose();
        _activities.Dispose();
        Console.WriteLine($"telemetry: {_measurements} measurements, {_activitiesStopped} activities recorded");
    }
}
