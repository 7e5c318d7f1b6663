using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Warden.Diagnostics;

/// <summary>
/// One sandbox's instruments: its own <see cref="Meter"/> (named <see cref="WardenTelemetry.MeterName"/>, its
/// <see cref="Meter.Scope"/> the sandbox, disposed with it) and the process-wide <see cref="ActivitySource"/>.
/// <para>
/// Why a meter per sandbox and not <c>IMeterFactory</c>: a <see cref="Sandbox"/> is usually made with <c>new</c>,
/// without a container, and its observable instruments (queue, workers) read that sandbox's pool; a meter of its
/// own ties them to it, ends them when it is disposed, and lets a listener that wants one sandbox's numbers (the
/// server's <c>/metrics</c>, the tests) pick its meter by <see cref="Meter.Scope"/>. Listeners subscribed by name
/// (OpenTelemetry's <c>AddMeter("Warden")</c>) see every sandbox's meter, as they would with a factory.
/// </para>
/// <para>
/// Attributes are bounded: statuses, engines, limits and retirement reasons are fixed words. SECURITY: no
/// instrument or activity carries script text, inputs, results, console lines, error messages or a clear isolation
/// key (only <see cref="IsolationKeyHash"/>): telemetry leaves the host, and those are the tenants' data.
/// </para>
/// </summary>
internal sealed class SandboxTelemetry : IDisposable
{
    public static readonly ActivitySource Source = new(WardenTelemetry.ActivitySourceName, WardenTelemetry.Version);

    // Attribute names (docs/telemetry.md).
    public const string StatusTag = "warden.execution.status";
    public const string EngineTag = "warden.engine";
    public const string LimitTag = "warden.limit";
    public const string WorkerStateTag = "warden.worker.state";
    public const string RetireReasonTag = "warden.worker.retire_reason";
    public const string WorkerPidTag = "warden.worker.pid";
    public const string QueueDurationTag = "warden.execution.queue.duration";
    public const string IsolationKeyHashTag = "warden.isolation_key.hash";
    public const string ExecutionIdTag = "warden.execution.id";
    public const string ErrorTypeTag = "error.type";
    public const string ActivityName = "warden.execute";

    // 1 ms .. ~65 s, doubling: executions run from a millisecond to the longest timeout.
    private static readonly double[] SecondsBuckets = [.. Enumerable.Range(0, 17).Select(i => 0.001 * Math.Pow(2, i))];
    // 64 KiB .. 4 GiB, quadrupling: a V8 heap's peak.
    private static readonly long[] ByteBuckets = [.. Enumerable.Range(0, 9).Select(i => (64L << 10) << (2 * i))];

    private readonly Meter _meter;
    private readonly Counter<long> _executions;
    private readonly Counter<long> _rejected;
    private readonly Histogram<double> _duration;
    private readonly Histogram<double> _cpuTime;
    private readonly Histogram<long> _memoryPeak;
    private readonly Histogram<double> _queueDuration;

    public SandboxTelemetry(Sandbox sandbox)
    {
        _meter = new Meter(new MeterOptions(WardenTelemetry.MeterName) { Version = WardenTelemetry.Version, Scope = sandbox });
        _executions = _meter.CreateCounter<long>("warden.executions", "{execution}",
            "Executions ended, by outcome status, engine and the limit that stopped them.");
        _rejected = _meter.CreateCounter<long>("warden.executions.rejected", "{execution}",
            "Executions refused before they ran because too many were waiting for a worker (error.type overloaded).");
        _duration = _meter.CreateHistogram("warden.execution.duration", "s",
            "Wall time of executions, from the start of the execution in its worker to its end.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });
        _cpuTime = _meter.CreateHistogram("warden.execution.cpu_time", "s",
            "CPU time the worker process spent during each execution.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });
        _memoryPeak = _meter.CreateHistogram("warden.execution.memory.peak", "By",
            "Peak V8 heap use plus ArrayBuffer bytes of each execution, as sampled.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = ByteBuckets });
        _queueDuration = _meter.CreateHistogram("warden.execution.queue.duration", "s",
            "Time from the call to a worker being assigned: waiting in the queue and, when none was ready, starting one.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });

        _meter.CreateObservableUpDownCounter("warden.execution.queued", () => sandbox.Statistics.QueuedExecutions, "{execution}",
            "Executions waiting for a worker now.");
        _meter.CreateObservableUpDownCounter("warden.workers", () =>
        {
            var stats = sandbox.Statistics;
            return new[]
            {
                new Measurement<int>(stats.BusyWorkers, new KeyValuePair<string, object?>(WorkerStateTag, "busy")),
                new Measurement<int>(stats.IdleWorkers, new KeyValuePair<string, object?>(WorkerStateTag, "idle")),
            };
        }, "{worker}", "Started workers now, by state: busy (running an execution) or idle.");
        _meter.CreateObservableCounter("warden.workers.started", () => sandbox.Statistics.WorkersStarted, "{worker}",
            "Workers that reached ready since the sandbox was made.");
        _meter.CreateObservableCounter("warden.workers.start_failures", () => sandbox.Statistics.WorkerStartFailures, "{worker}",
            "Worker starts that failed since the sandbox was made.");
        _meter.CreateObservableCounter("warden.workers.retired", () => sandbox.Statistics.WorkersRetired
            .Select(r => new Measurement<long>(r.Value, new KeyValuePair<string, object?>(RetireReasonTag, r.Key))),
            "{worker}", "Workers killed and replaced since the sandbox was made, by reason.");
        _meter.CreateObservableCounter("warden.isolates.warm.created", () => sandbox.Statistics.WarmIsolatesMade, "{isolate}",
            "Warm isolates made (IsolationUnit Context).");
        _meter.CreateObservableCounter("warden.isolates.warm.reused", () => sandbox.Statistics.WarmIsolateReuses, "{execution}",
            "Executions that ran in a fresh context of a warm isolate an earlier execution had used.");
    }

    /// <summary>Starts the execution's activity; null (and nothing allocated) when nobody listens.</summary>
    public static Activity? StartExecution(string? isolationKey)
    {
        if (!Source.HasListeners())
        {
            return null;
        }
        var activity = Source.StartActivity(ActivityName, ActivityKind.Internal);
        // Not yet validated: a key over the allowed length (the execution will be refused) is not worth hashing.
        if (isolationKey is { Length: <= Submission.MaxIsolationKeyLength } && activity is { IsAllDataRequested: true })
        {
            activity.SetTag(IsolationKeyHashTag, IsolationKeyHash.Of(isolationKey));
        }
        return activity;
    }

    /// <summary>A worker was assigned after <paramref name="queued"/>.</summary>
    public void WorkerAssigned(Activity? activity, string engine, int pid, TimeSpan queued)
    {
        if (_queueDuration.Enabled)
        {
            _queueDuration.Record(queued.TotalSeconds, new KeyValuePair<string, object?>(EngineTag, engine));
        }
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(WorkerPidTag, pid);
            activity.SetTag(QueueDurationTag, queued.TotalSeconds);
        }
    }

    /// <summary>An execution ended with <paramref name="outcome"/> (also an invalid request, or no worker).</summary>
    public void Ended(Activity? activity, string id, Outcome outcome)
    {
        string status = outcome.Status.ToWireString();
        string? limit = outcome.Error?.Limit?.ToWireString();
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(ExecutionIdTag, id);
            activity.SetTag(StatusTag, status);
            activity.SetTag(EngineTag, outcome.Engine);
            if (limit is not null)
            {
                activity.SetTag(LimitTag, limit);
            }
            // A script's own failure (an exception, a limit) is the caller's outcome, not Warden's error: the span
            // is an error only when Warden failed to run it.
            if (outcome.Status == OutcomeStatus.InternalError)
            {
                activity.SetStatus(ActivityStatusCode.Error);
                activity.SetTag(ErrorTypeTag, status);
            }
        }
        var tags = new TagList
        {
            { StatusTag, status },
            { EngineTag, outcome.Engine },
        };
        if (limit is not null)
        {
            tags.Add(LimitTag, limit);
        }
        if (_executions.Enabled)
        {
            _executions.Add(1, tags);
        }
        if (outcome.Status == OutcomeStatus.InvalidRequest)
        {
            return;   // nothing ran: no usage to record
        }
        if (_duration.Enabled)
        {
            _duration.Record(outcome.Usage.WallMs / 1000, tags);
        }
        var usageTags = new TagList { { StatusTag, status }, { EngineTag, outcome.Engine } };
        if (_cpuTime.Enabled)
        {
            _cpuTime.Record(outcome.Usage.CpuMs / 1000, usageTags);
        }
        if (_memoryPeak.Enabled)
        {
            _memoryPeak.Record(outcome.Usage.MemoryBytes, usageTags);
        }
    }

    /// <summary>An execution ended without an outcome: refused (overloaded), cancelled, or the sandbox was disposed.</summary>
    public void Failed(Activity? activity, Exception exception)
    {
        string errorType = exception switch
        {
            SandboxOverloadedException => "overloaded",
            OperationCanceledException => "cancelled",
            ObjectDisposedException => "disposed",
            _ => "exception",
        };
        if (exception is SandboxOverloadedException && _rejected.Enabled)
        {
            _rejected.Add(1, new KeyValuePair<string, object?>(ErrorTypeTag, errorType));
        }
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetStatus(ActivityStatusCode.Error);
            activity.SetTag(ErrorTypeTag, errorType);
        }
    }

    public void Dispose() => _meter.Dispose();
}
