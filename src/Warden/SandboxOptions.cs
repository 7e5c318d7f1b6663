namespace Warden;

/// <summary>
/// Operator settings of a <see cref="Sandbox"/>, bound through the options pattern or set in code.
/// Validated when the sandbox is constructed; every problem is reported at once.
/// </summary>
public sealed class SandboxOptions
{
    /// <summary>Limits: defaults and maximums per execution.</summary>
    public SandboxLimits Limits { get; set; } = new();

    /// <summary>
    /// The .NET functions scripts may call, by name, as async functions of the module <c>warden:host</c>. None is
    /// reachable unless a submission grants it (<see cref="Submission.HostFunctions"/>); each call is held to the
    /// host-call limits of <see cref="Limits"/>. Registered before the sandbox is constructed (it takes a copy).
    /// </summary>
    public HostFunctionCollection HostFunctions { get; set; } = new();

    /// <summary>
    /// The origins scripts may <c>fetch</c>. A script has a <c>fetch</c> global (with <c>Request</c>, <c>Response</c>
    /// and <c>Headers</c>) only when its submission grants some of them (<see cref="Submission.FetchOrigins"/>); the
    /// host makes every request, one redirect hop at a time, each a host call held to the host-call limits and the
    /// fetch limits of <see cref="Limits"/>. Registered before the sandbox is constructed (it takes a copy).
    /// </summary>
    public FetchOriginCollection FetchOrigins { get; set; } = new();

    /// <summary>
    /// Most executions running at once, each in its own worker process. Default: one per core. At most
    /// <c>MaxWorkers + SpareWorkers</c> processes are alive, busy or idle.
    /// </summary>
    public int MaxWorkers { get; set; } = Environment.ProcessorCount;

    /// <summary>
    /// Pre-started workers kept unassigned to any isolation key, so that a new key (or a replaced worker)
    /// does not pay process start-up on the request path. Default 1. On top of <see cref="MaxWorkers"/>: when
    /// every execution slot is busy and a worker retires (after <see cref="MaxExecutionsPerWorker"/>, or a
    /// limit), its key's next execution takes the warm spare instead of waiting about a second for a start.
    /// </summary>
    public int SpareWorkers { get; set; } = 1;

    /// <summary>
    /// A worker is replaced after this many executions. Default 10 000: each execution has a fresh
    /// isolate anyway, and a replacement costs about a second of CPU — at 1000, on 2 cores, recycling
    /// cost a quarter of the tiny-script throughput of <c>warden serve</c> and most of its p99
    /// (c=4: 116/s, p99 0.4–0.8 s, against 166/s, p99 45 ms without). <see cref="MaxWorkerLifetime"/>
    /// still bounds how long one worker lives.
    /// </summary>
    public int MaxExecutionsPerWorker { get; set; } = 10_000;

    /// <summary>A worker is replaced once it is this old (checked between executions). Default 10 minutes.</summary>
    public TimeSpan MaxWorkerLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a new worker may take to report ready before it is killed. Default 15 s.</summary>
    public TimeSpan WorkerStartTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Executions waiting for a worker beyond this many are refused with <see cref="SandboxOverloadedException"/>.
    /// Default 1024.
    /// </summary>
    public int MaxQueuedExecutions { get; set; } = 1024;

    /// <summary>
    /// The engine for submissions that name none (<see cref="Submission.Engine"/>): <c>v8</c> (the default) or
    /// <c>quickjs</c>. Spare workers run it. With <c>quickjs</c>, <see cref="IsolationUnit"/> cannot be
    /// <see cref="IsolationUnit.Context"/>: QuickJS has no warm mode.
    /// </summary>
    public string DefaultEngine { get; set; } = Protocol.EngineNames.V8;

    /// <summary>
    /// What each execution gets to itself inside its key's worker: a fresh isolate (<see cref="IsolationUnit.Isolate"/>,
    /// the default) or a fresh context in a warm isolate of the same key (<see cref="IsolationUnit.Context"/>: several
    /// times the throughput, with the residual risk its documentation names). Configuration key
    /// <c>Warden:Sandbox:IsolationUnit</c>; an application may choose per submission (<see cref="Submission.IsolationUnit"/>).
    /// </summary>
    public IsolationUnit IsolationUnit { get; set; } = IsolationUnit.Isolate;

    /// <summary>When a warm isolate of <see cref="IsolationUnit.Context"/> is replaced by a fresh one.</summary>
    public WarmIsolateOptions WarmIsolate { get; set; } = new();

    /// <summary>
    /// Also offer the <c>test</c> engine: a fake behind the worker's engine interface that interprets a few
    /// line commands instead of JavaScript, for the tests that prove the engine seam end to end. Never an operator setting.
    /// </summary>
    internal bool EnableTestEngine { get; set; }

    /// <summary>
    /// Provide <c>WebAssembly</c>. Off by default: its memories are reserved outside V8's heap and
    /// ArrayBuffer accounting, so only the process cap (the OS layer) bounds them.
    /// </summary>
    public bool EnableWebAssembly { get; set; }

    /// <summary>
    /// Provide <c>SharedArrayBuffer</c> and <c>Atomics</c>. Off by default: <c>Atomics.wait</c> blocks the
    /// script thread. Growable shared buffers are counted against the memory budget like resizable ArrayBuffers.
    /// </summary>
    public bool EnableSharedMemory { get; set; }

    /// <summary>
    /// Path of the worker's entry assembly (<c>Warden.Worker.dll</c>). Null: in the <c>warden-worker</c> folder the
    /// WardenJs package puts beside the app, else next to the Warden library.
    /// </summary>
    public string? WorkerAssemblyPath { get; set; }

    /// <summary>Path of the <c>dotnet</c> host used to start workers. Null: the one running this process.</summary>
    public string? DotnetHostPath { get; set; }

    /// <summary>Where a root host stages worker and runtime files uid 65534 cannot read. Null: /var/lib/warden/workers. Tests use their own.</summary>
    internal string? WorkerStagingRoot { get; set; }

    /// <summary>
    /// What to do when an OS isolation layer (namespaces, unprivileged uid, seccomp, cgroup caps) is
    /// unavailable here. Default <see cref="OsIsolationMode.Required"/>: the sandbox refuses to start and
    /// names the missing layer. Weaker isolation is only ever an explicit choice.
    /// </summary>
    public OsIsolationMode OsIsolation { get; set; } = OsIsolationMode.Required;

    /// <summary>
    /// CPU a worker may use, in cores (its cgroup's quota), so that one worker — V8's GC and compiler
    /// threads included — cannot starve the others. Default 1.5: a worker runs one script thread,
    /// and prepares and tears down isolates on two more in parallel (measured on 2 cores: a quota of
    /// 1 cut fresh-isolate throughput at concurrency 1 from ~115 to ~65 executions/s and tripled p99;
    /// 1.5 costs nothing measurable).
    /// </summary>
    public double WorkerCpuCores { get; set; } = 1.5;

    /// <summary>
    /// Tasks (threads) a worker's cgroup may hold. Default 128: a warm worker has ~25 (runtime, V8
    /// platform, isolate preparation); 8 or fewer kill the runtime at start. Only threads can be made:
    /// the seccomp filter refuses new processes.
    /// </summary>
    public int WorkerMaxTasks { get; set; } = 128;

    // Knobs for the lockdown's own tests and the allowlist-derivation tool; not operator settings.
    internal bool ResidentMemoryBackstop { get; set; } = true;
    internal string SeccompDefault { get; set; } = "kill";
    internal string[]? SeccompOmit { get; set; }
    internal string[]? WorkerCommandPrefix { get; set; }

    /// <summary>
    /// Why this sandbox cannot run executions with <paramref name="unit"/>, worded to follow the unit's name
    /// ("Context cannot be used with …"), or null when it can. The one rule behind the sandbox's own setting,
    /// a submission's and an API key's.
    /// </summary>
    /// <remarks>
    /// SECURITY: no <see cref="IsolationUnit.Context"/> with <c>SharedArrayBuffer</c> (<c>Atomics.waitAsync</c>) or
    /// <c>WebAssembly</c> (its asynchronous compilation): the engine settles their promises from tasks of its own,
    /// which can run a finished execution's callbacks between executions, outside every watchdog; a fresh isolate
    /// ends those tasks with itself, a warm one would keep them.
    /// </remarks>
    public string? IsolationUnitProblem(IsolationUnit unit) =>
        !Enum.IsDefined(unit) ? $"({(int)unit}) is not a known unit (Isolate or Context)"
        : unit == IsolationUnit.Context && (EnableSharedMemory || EnableWebAssembly)
            ? "Context cannot be used with EnableSharedMemory or EnableWebAssembly (their engine tasks could run a finished execution's code between executions)"
            : null;

    /// <summary>Checks every setting; returns one message per problem (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Limits is null)
        {
            errors.Add("Limits must be set.");
        }
        else
        {
            errors.AddRange(Limits.Validate());
        }
        if (MaxWorkers is < 1 or > 1024)
        {
            errors.Add($"MaxWorkers ({MaxWorkers}) must be between 1 and 1024.");
        }
        if (SpareWorkers < 0 || SpareWorkers > MaxWorkers)
        {
            errors.Add($"SpareWorkers ({SpareWorkers}) must be between 0 and MaxWorkers ({MaxWorkers}).");
        }
        if (MaxExecutionsPerWorker < 1)
        {
            errors.Add($"MaxExecutionsPerWorker ({MaxExecutionsPerWorker}) must be at least 1.");
        }
        if (MaxWorkerLifetime <= TimeSpan.Zero)
        {
            errors.Add("MaxWorkerLifetime must be positive.");
        }
        if (WorkerStartTimeout <= TimeSpan.Zero || WorkerStartTimeout > TimeSpan.FromMinutes(5))
        {
            errors.Add("WorkerStartTimeout must be positive and at most 5 minutes.");
        }
        if (MaxQueuedExecutions < 0)
        {
            errors.Add($"MaxQueuedExecutions ({MaxQueuedExecutions}) must not be negative.");
        }
        var engines = Hosting.EngineCatalog.Offered(this);
        if (DefaultEngine is null || !engines.Contains(DefaultEngine, StringComparer.Ordinal))
        {
            errors.Add($"DefaultEngine ('{DefaultEngine}') must be an engine this sandbox offers: {string.Join(", ", engines)}.");
        }
        if (IsolationUnitProblem(IsolationUnit) is { } unitProblem)
        {
            errors.Add($"IsolationUnit {unitProblem}.");
        }
        else if (DefaultEngine is not null && Hosting.EngineCatalog.UnitProblem(DefaultEngine, IsolationUnit) is { } engineUnitProblem)
        {
            // Every submission that names no engine would be refused: a configuration mistake, said at start.
            errors.Add($"IsolationUnit {engineUnitProblem}, the DefaultEngine.");
        }
        if (HostFunctions is null)
        {
            errors.Add("HostFunctions must be set.");
        }
        if (FetchOrigins is null)
        {
            errors.Add("FetchOrigins must be set.");
        }
        if (WarmIsolate is null)
        {
            errors.Add("WarmIsolate must be set.");
        }
        if (!Enum.IsDefined(OsIsolation))
        {
            errors.Add($"OsIsolation ({(int)OsIsolation}) is not a known mode.");
        }
        if (!double.IsFinite(WorkerCpuCores) || WorkerCpuCores < 0.1 || WorkerCpuCores > 1024)
        {
            errors.Add($"WorkerCpuCores ({WorkerCpuCores}) must be between 0.1 and 1024.");
        }
        if (WorkerMaxTasks is < 32 or > 4096)
        {
            errors.Add($"WorkerMaxTasks ({WorkerMaxTasks}) must be between 32 and 4096 (8 or fewer kill the .NET runtime at start).");
        }
        if (WorkerAssemblyPath is not null && !File.Exists(WorkerAssemblyPath))
        {
            errors.Add($"WorkerAssemblyPath '{WorkerAssemblyPath}' does not exist.");
        }
        if (DotnetHostPath is not null && !File.Exists(DotnetHostPath))
        {
            errors.Add($"DotnetHostPath '{DotnetHostPath}' does not exist.");
        }
        return errors;
    }

    internal SandboxOptions Snapshot() => new()
    {
        Limits = Limits.Clone(),
        HostFunctions = HostFunctions.Clone(),
        FetchOrigins = FetchOrigins.Clone(),
        MaxWorkers = MaxWorkers,
        SpareWorkers = SpareWorkers,
        MaxExecutionsPerWorker = MaxExecutionsPerWorker,
        MaxWorkerLifetime = MaxWorkerLifetime,
        WorkerStartTimeout = WorkerStartTimeout,
        MaxQueuedExecutions = MaxQueuedExecutions,
        DefaultEngine = DefaultEngine,
        IsolationUnit = IsolationUnit,
        WarmIsolate = WarmIsolate.Clone(),
        EnableTestEngine = EnableTestEngine,
        EnableWebAssembly = EnableWebAssembly,
        EnableSharedMemory = EnableSharedMemory,
        WorkerAssemblyPath = WorkerAssemblyPath,
        DotnetHostPath = DotnetHostPath,
        WorkerStagingRoot = WorkerStagingRoot,
        OsIsolation = OsIsolation,
        WorkerCpuCores = WorkerCpuCores,
        WorkerMaxTasks = WorkerMaxTasks,
        ResidentMemoryBackstop = ResidentMemoryBackstop,
        SeccompDefault = SeccompDefault,
        SeccompOmit = SeccompOmit,
        WorkerCommandPrefix = WorkerCommandPrefix,
    };
}

/// <summary>Thrown by <see cref="Sandbox"/> when its options are invalid; lists every problem.</summary>
public sealed class SandboxOptionsException(IReadOnlyList<string> errors)
    : ArgumentException("Invalid sandbox options:" + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(e => "  - " + e)))
{
    /// <summary>One message per problem.</summary>
    public IReadOnlyList<string> Errors { get; } = errors;
}

/// <summary>Thrown when more executions are waiting for a worker than <see cref="SandboxOptions.MaxQueuedExecutions"/> allows.</summary>
public sealed class SandboxOverloadedException() : InvalidOperationException("Too many executions are waiting for a worker.");
