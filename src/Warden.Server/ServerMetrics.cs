using Prometheus;

namespace Warden.Server;

/// <summary>
/// The service's Prometheus metrics (prometheus-net, one registry per service instance): executions by
/// status, wall-time and CPU histograms, and the worker pool read at scrape time — queue depth, busy
/// and idle workers, workers started, workers retired (killed and replaced) by reason, warm isolates made and reused.
/// </summary>
internal sealed class ServerMetrics
{
    public CollectorRegistry Registry { get; } = Metrics.NewCustomRegistry();
    private readonly Counter _executions;
    private readonly Histogram _wallSeconds;
    private readonly Histogram _cpuSeconds;

    public ServerMetrics(Sandbox sandbox)
    {
        var factory = Metrics.WithCustomRegistry(Registry);
        _executions = factory.CreateCounter("warden_executions_total", "Executions ended, by outcome status.", "status");
        var buckets = Histogram.ExponentialBuckets(0.001, 2, 17); // 1 ms .. ~65 s
        _wallSeconds = factory.CreateHistogram("warden_execution_wall_seconds", "Wall time of executions, from the start of user code.", new HistogramConfiguration { Buckets = buckets });
        _cpuSeconds = factory.CreateHistogram("warden_execution_cpu_seconds", "CPU time of executions.", new HistogramConfiguration { Buckets = buckets });
        var queue = factory.CreateGauge("warden_queued_executions", "Executions waiting for a worker.");
        var busy = factory.CreateGauge("warden_busy_workers", "Workers running an execution.");
        var idle = factory.CreateGauge("warden_idle_workers", "Started workers waiting for an execution.");
        var started = factory.CreateGauge("warden_workers_started", "Workers started since the service started (a counter read from the pool).");
        var warmMade = factory.CreateGauge("warden_warm_isolates_made", "Warm isolates made for IsolationUnit Context (a counter read from the sandbox).");
        var warmReuses = factory.CreateGauge("warden_warm_isolate_reuses", "Executions that ran in a fresh context of a warm isolate an earlier execution had used (a counter read from the sandbox).");
        var retired = factory.CreateGauge("warden_workers_retired", "Workers killed and replaced since the service started, by reason (a counter read from the pool).", "reason");
        Registry.AddBeforeCollectCallback(() =>
        {
            var stats = sandbox.Statistics;
            queue.Set(stats.QueuedExecutions);
            busy.Set(stats.BusyWorkers);
            idle.Set(stats.IdleWorkers);
            started.Set(stats.WorkersStarted);
            warmMade.Set(stats.WarmIsolatesMade);
            warmReuses.Set(stats.WarmIsolateReuses);
            foreach (var (reason, count) in stats.WorkersRetired)
            {
                retired.WithLabels(reason).Set(count);
            }
        });
    }

    public void Record(Outcome outcome)
    {
        _executions.WithLabels(outcome.Status.ToWireString()).Inc();
        _wallSeconds.Observe(outcome.Usage.WallMs / 1000);
        _cpuSeconds.Observe(outcome.Usage.CpuMs / 1000);
    }
}
