using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Warden.Diagnostics;
using Warden.Hosting;
using Warden.Protocol;

namespace Warden;

/// <summary>
/// Runs untrusted JavaScript in V8 inside disposable worker processes, under limits.
/// Construct once (options are validated here), call <see cref="RunAsync"/> from any number of
/// threads, dispose to stop every worker. Scripts never run in this process.
/// </summary>
public sealed class Sandbox : IAsyncDisposable, IDisposable
{
    private readonly SandboxOptions _options;
    private readonly WorkerPool<EngineWorker> _pool;
    private readonly ILogger _logger;
    private readonly HostCallGate _hostCallGate;
    private readonly (Hosting.Fetch.FetchClient Client, Hosting.Fetch.FetchBodyBudget Budget)? _fetch;
    private readonly SandboxTelemetry _telemetry;
    private long _executionCounter;
    private int _disposed;

    /// <summary>Creates a sandbox; starts its spare workers in the background.</summary>
    /// <exception cref="SandboxOptionsException">The options are invalid; every problem is listed.</exception>
    public Sandbox(SandboxOptions options, ILogger<Sandbox>? logger = null)
        : this(options, logger, fetchResolver: null)
    {
    }

    /// <summary>A sandbox whose fetches resolve hostnames with <paramref name="fetchResolver"/> (tests: a fake DNS); null: the system's.</summary>
    internal Sandbox(SandboxOptions options, ILogger? logger, Hosting.Fetch.IFetchResolver? fetchResolver)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new SandboxOptionsException(errors);
        }
        _options = options.Snapshot();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _hostCallGate = new HostCallGate(_options.Limits.MaxOutstandingHostCalls);
        // One HTTP client for all of the sandbox's fetches (its connection pools are keyed by origin, and every
        // request passes its execution's grant check before it may use one); none when no origin is registered.
        _fetch = _options.FetchOrigins.Count == 0 ? null
            : (new Hosting.Fetch.FetchClient(fetchResolver ?? Hosting.Fetch.SystemFetchResolver.Instance, _logger),
                new Hosting.Fetch.FetchBodyBudget(_options.Limits.MaxFetchBytesInFlight));
        var spec = WorkerLaunchSpec.Resolve(_options);
        foreach (var layer in spec.Isolation.Report.Missing)
        {
            Log.IsolationLayerMissing(_logger, layer.Name, layer.Detail, _options.OsIsolation);
        }
        _pool = new WorkerPool<EngineWorker>(_options, new EngineWorkerStarter(_options, spec, _logger), _logger);
        _telemetry = new SandboxTelemetry(this);
    }

    /// <summary>True once <see cref="DisposeAsync"/> began (the liveness check reads it).</summary>
    internal bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Spare workers this sandbox keeps started (with none, no worker starts before the first execution).</summary>
    internal int SpareWorkers => _options.SpareWorkers;

    /// <summary>
    /// Which OS isolation layers workers get on this machine, each with what is in place or what is
    /// missing and how to enable it (what <c>warden doctor</c> prints).
    /// </summary>
    public static IsolationReport ProbeIsolation() => Hosting.Isolation.IsolationProbe.Current.Report;

    /// <summary>
    /// Starts one real locked-down worker with these options and, from inside it, attempts what an
    /// engine exploit would (read host files, connect to the host's loopback, exec, fork, ptrace,
    /// mount, write files, ...) before and after its seccomp filter; then runs JavaScript in fresh
    /// isolates in that worker. <see cref="LockdownSelfTestReport.Passed"/> says whether every layer
    /// held. What <c>warden doctor --self-test</c> runs.
    /// </summary>
    public static Task<LockdownSelfTestReport> RunLockdownSelfTestAsync(SandboxOptions? options = null, ILogger? logger = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new SandboxOptions();
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new SandboxOptionsException(errors);
        }
        return Hosting.Isolation.LockdownSelfTest.RunAsync(options, logger ?? NullLogger.Instance, cancellationToken);
    }

    /// <summary>Creates a sandbox from options bound through dependency injection.</summary>
    public Sandbox(IOptions<SandboxOptions> options, ILogger<Sandbox> logger)
        : this(options?.Value ?? throw new ArgumentNullException(nameof(options)), logger)
    {
    }

    /// <summary>The limits this sandbox enforces (a copy: changing it changes nothing).</summary>
    public SandboxLimits Limits => _options.Limits.Clone();

    /// <summary>Waits until the spare workers have started, so that the first executions do not pay for it.</summary>
    public Task WarmUpAsync() => _pool.WarmUpAsync();

    /// <summary>
    /// Runs one submission and returns its outcome. Whatever the script does (loops, bombs, throws,
    /// crashes its worker) comes back as an <see cref="Outcome"/>; an invalid submission comes back
    /// as <see cref="OutcomeStatus.InvalidRequest"/>.
    /// </summary>
    /// <exception cref="OperationCanceledException">Cancelled; a running execution's worker is killed.</exception>
    /// <exception cref="SandboxOverloadedException">Too many executions are already waiting.</exception>
    /// <exception cref="ObjectDisposedException">The sandbox was disposed.</exception>
    public async Task<Outcome> RunAsync(Submission submission, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(submission);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        // One activity per execution; null when nobody listens (then the telemetry below costs a few checks). Its
        // engine is set from the outcome: the submission's own word is not validated yet, and attributes stay bounded.
        using var activity = SandboxTelemetry.StartExecution(submission.IsolationKey);
        string id = "x" + Interlocked.Increment(ref _executionCounter).ToString("x", System.Globalization.CultureInfo.InvariantCulture);
        try
        {
            var outcome = await RunCoreAsync(submission, id, activity, cancellationToken).ConfigureAwait(false);
            _telemetry.Ended(activity, id, outcome);
            return outcome;
        }
        catch (Exception e)
        {
            _telemetry.Failed(activity, e);
            throw;
        }
    }

    private async Task<Outcome> RunCoreAsync(Submission submission, string id, System.Diagnostics.Activity? activity, CancellationToken cancellationToken)
    {
        var problem = SubmissionValidator.Validate(submission, _options, out var limits, out string engine);
        if (problem is not null)
        {
            // Nothing ran: the outcome names the engine the submission was meant for (the validator
            // hands on only an offered one).
            return Outcome.InvalidRequest(problem.Field, problem.Message) with { Engine = engine };
        }
        var request = WorkerMessages.Execute(id, engine, submission, limits, _options);
        var key = WorkerKey.For(engine, submission.IsolationKey);
        // Taken with the request, before any wait: the grants the worker is told of and the ones the host serves
        // come from the same reading of the submission, whatever the application does with it meanwhile.
        var hostCalls = HostCallScope.For(submission, _options, _hostCallGate, _fetch);

        EngineWorker worker;
        long queuedSince = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            worker = await _pool.AcquireAsync(key, cancellationToken).ConfigureAwait(false);
        }
        catch (WorkerStartException e)
        {
            return WorkerOutcomes.NoWorker(e.Message) with { Engine = engine };
        }
        _telemetry.WorkerAssigned(activity, engine, worker.Pid, System.Diagnostics.Stopwatch.GetElapsedTime(queuedSince));
        OutcomeStatus? endedWith = null;
        bool atEngineMemoryCap = false;
        try
        {
            var outcome = await worker.ExecuteAsync(request, _options.Limits, cancellationToken, hostCalls).ConfigureAwait(false);
            endedWith = outcome.Status;
            atEngineMemoryCap = outcome.Status == OutcomeStatus.MemoryLimit && outcome.Error?.Limit == LimitKind.Heap;
            if (outcome.WarmContext > 0)
            {
                Interlocked.Increment(ref outcome.WarmContext == 1 ? ref _warmIsolatesMade : ref _warmIsolateReuses);
            }
            Log.ExecutionEnded(_logger, id, outcome.Status.ToWireString(), outcome.Usage.WallMs);
            return outcome;
        }
        finally
        {
            _pool.Release(worker, key, endedWith, atEngineMemoryCap);
        }
    }

    /// <summary>Process ids of the live workers (for tests and diagnostics).</summary>
    internal IReadOnlyList<int> WorkerPids => _pool.WorkerPids;

    internal IReadOnlyList<int> BusyWorkerPids => _pool.BusyWorkerPids;

    /// <summary>Counters of the worker pool now: workers started and retired (by reason), queue, busy and idle workers.</summary>
    public SandboxStatistics Statistics => _pool.Statistics() with
    {
        WarmIsolatesMade = Interlocked.Read(ref _warmIsolatesMade),
        WarmIsolateReuses = Interlocked.Read(ref _warmIsolateReuses),
    };

    private long _warmIsolatesMade;
    private long _warmIsolateReuses;

    /// <summary>Stops every worker, including those running executions.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _pool.DisposeAsync().ConfigureAwait(false);
        _fetch?.Client.Dispose();
        _telemetry.Dispose();
    }

    /// <summary>
    /// Stops every worker, waiting for it: prefer <see cref="DisposeAsync"/>. For containers disposed synchronously
    /// (a <c>ServiceProvider</c> in a <c>using</c>), which refuse a singleton that can only be disposed asynchronously.
    /// </summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
