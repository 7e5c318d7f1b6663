using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Warden.Hosting;
using Warden.Protocol;

namespace Warden;

/// <summary>
/// Runs untrusted JavaScript in V8 inside disposable worker processes, under limits.
/// Construct once (options are validated here), call <see cref="RunAsync"/> from any number of
/// threads, dispose to stop every worker. Scripts never run in this process.
/// </summary>
public sealed class Sandbox : IAsyncDisposable
{
    // Isolation keys chosen by callers are prefixed so that no caller key can equal the keyless group's.
    private const string KeylessGroup = "anon";
    private const string KeyPrefix = "key:";

    private readonly SandboxOptions _options;
    private readonly WorkerPool _pool;
    private readonly ILogger _logger;
    private long _executionCounter;
    private int _disposed;

    /// <summary>Creates a sandbox; starts its spare workers in the background.</summary>
    /// <exception cref="SandboxOptionsException">The options are invalid; every problem is listed.</exception>
    public Sandbox(SandboxOptions options, ILogger<Sandbox>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new SandboxOptionsException(errors);
        }
        _options = options.Snapshot();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        var spec = WorkerLaunchSpec.Resolve(_options);
        foreach (var layer in spec.Isolation.Report.Missing)
        {
            Log.IsolationLayerMissing(_logger, layer.Name, layer.Detail, _options.OsIsolation);
        }
        var configure = ConfigureFor(_options, spec);
        _pool = new WorkerPool(_options, spec, configure, _logger);
    }

    internal static ConfigureMessage ConfigureFor(SandboxOptions options, WorkerLaunchSpec spec, WireSelfTest? selfTest = null)
    {
        var limits = options.Limits;
        return new ConfigureMessage(
            EngineNames.V8,
            SubmissionValidator.Resolve(limits, limits.DefaultTimeoutMs, limits.DefaultTimeoutMs, limits.DefaultMemoryMb),
            new WireFeatures(options.EnableWebAssembly, options.EnableSharedMemory),
            new WireLockdown(spec.Isolation.Seccomp, options.SeccompDefault, options.SeccompOmit, options.ResidentMemoryBackstop, selfTest));
    }

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
        var problem = SubmissionValidator.Validate(submission, _options, out var limits, out string engine);
        if (problem is not null)
        {
            return Outcome.InvalidRequest(problem.Field, problem.Message);
        }
        string id = "x" + Interlocked.Increment(ref _executionCounter).ToString("x", System.Globalization.CultureInfo.InvariantCulture);
        var request = new ExecuteMessage(id, engine, submission.Code, submission.InputJson, submission.IsModule, limits,
            submission.Modules is { Count: > 0 } modules ? new Dictionary<string, string>(modules, StringComparer.Ordinal) : null);
        string key = submission.IsolationKey is null ? KeylessGroup : KeyPrefix + submission.IsolationKey;

        WorkerProcess worker;
        try
        {
            worker = await _pool.AcquireAsync(key, cancellationToken).ConfigureAwait(false);
        }
        catch (WorkerStartException e)
        {
            return Outcome.Failure(OutcomeStatus.InternalError, "InternalError", "No worker could be started: " + e.Message);
        }
        bool reusable = false;
        try
        {
            var outcome = await worker.ExecuteAsync(request, _options.Limits, cancellationToken).ConfigureAwait(false) with { WorkerPid = worker.Pid, Engine = worker.Engine.Name };
            // A timeout the worker stopped itself (interrupt, isolate discarded; a worker that had to
            // end itself or be killed is dead and retired anyway) leaves nothing behind in the process.
            // Retiring the worker for it would let any tenant make the host pay a worker start-up
            // (~0.8 s of CPU) for each 1 ms timeout: an 800-fold amplification. Other limits retire it.
            reusable = outcome.Status is OutcomeStatus.Ok or OutcomeStatus.ScriptError or OutcomeStatus.Timeout;
            Log.ExecutionEnded(_logger, id, outcome.Status.ToWireString(), outcome.Usage.WallMs);
            return outcome;
        }
        finally
        {
            _pool.Release(worker, key, reusable);
        }
    }

    /// <summary>Process ids of the live workers (for tests and diagnostics).</summary>
    internal IReadOnlyList<int> WorkerPids => _pool.WorkerPids;

    internal IReadOnlyList<int> BusyWorkerPids => _pool.BusyWorkerPids;

    /// <summary>Counters of the worker pool now: workers started and retired (by reason), queue, busy and idle workers.</summary>
    public SandboxStatistics Statistics => _pool.Statistics();

    /// <summary>Stops every worker, including those running executions.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _pool.DisposeAsync().ConfigureAwait(false);
    }
}
