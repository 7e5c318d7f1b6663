namespace Warden;

/// <summary>One console entry, as the script logged it, rendered inside the sandbox.</summary>
/// <param name="Level"><c>log</c>, <c>info</c>, <c>warn</c>, <c>error</c>, <c>debug</c> or <c>trace</c>.</param>
/// <param name="Text">The rendered text (docs/limits.md, "Console rendering").</param>
public sealed record ConsoleEntry(string Level, string Text);

/// <summary>Why an execution did not end <c>ok</c>. Every string was made inside the sandbox and bounded.</summary>
/// <param name="Name">The error's name, e.g. <c>TypeError</c>.</param>
/// <param name="Message">The error's message, truncated at the error-text bound.</param>
/// <param name="Stack">Stack frames of user code only, with line and column; may be empty.</param>
/// <param name="Limit">The limit that ended the execution, if one did.</param>
public sealed record ExecutionError(string Name, string Message, string Stack, LimitKind? Limit)
{
    /// <summary>
    /// For <see cref="OutcomeStatus.InvalidRequest"/>: the member of the submission at fault, as the contract's
    /// JSON path (<c>code</c>, <c>input</c>, <c>modules</c>, <c>engine</c>, <c>isolationKey</c>, <c>limits.timeoutMs</c>, ...),
    /// which the HTTP API returns as its problem's <c>field</c>. Null for every other status, and when the fault
    /// is not one member's (a bad command line). Not part of the outcome JSON.
    /// </summary>
    public string? Field { get; init; }
}

/// <summary>What one execution used.</summary>
/// <param name="WallMs">Wall-clock milliseconds from the start of the execution to its end.</param>
/// <param name="CpuMs">CPU milliseconds the worker process spent during the execution.</param>
/// <param name="MemoryBytes">Peak V8 heap use plus ArrayBuffer bytes, as sampled (docs/limits.md).</param>
/// <param name="Fuel">
/// Fuel the execution consumed, on an engine that counts fuel (quickjs): deterministic, the same for the same
/// submission on every run and machine. Null on engines that count none (v8), and when the worker did not report it
/// (it was killed or died).
/// </param>
public sealed record ResourceUsage(double WallMs, double CpuMs, long MemoryBytes, long? Fuel = null)
{
    /// <summary>Host-function calls the execution made, counted by the host; null when it was granted none.</summary>
    public int? HostCalls { get; init; }

    /// <summary>
    /// Wall-clock milliseconds during which at least one of the execution's host calls was outstanding on the host,
    /// by the host's own clock (part of <see cref="WallMs"/>, none of <see cref="CpuMs"/>); null when it was granted none.
    /// </summary>
    public double? HostMs { get; init; }

    internal static readonly ResourceUsage None = new(0, 0, 0);
}

/// <summary>The outcome of one execution: the contract's outcome object (see <see cref="OutcomeJson"/>).</summary>
public sealed record Outcome
{
    /// <summary>How the execution ended.</summary>
    public required OutcomeStatus Status { get; init; }

    /// <summary>The result as exactly one JSON value (validated by the host), or null when not <c>ok</c>.</summary>
    public string? ResultJson { get; init; }

    /// <summary>Console entries in the order they were logged, including those logged before a kill.</summary>
    public IReadOnlyList<ConsoleEntry> Console { get; init; } = [];

    /// <summary>Null when <see cref="Status"/> is <see cref="OutcomeStatus.Ok"/>.</summary>
    public ExecutionError? Error { get; init; }

    /// <summary>Resources the execution used.</summary>
    public ResourceUsage Usage { get; init; } = ResourceUsage.None;

    /// <summary>The engine that ran the script: <c>v8</c> or <c>quickjs</c>.</summary>
    public string Engine { get; init; } = Protocol.EngineNames.V8;

    /// <summary>Process id of the worker that ran the execution (0 when none did). For tests and diagnostics.</summary>
    internal int WorkerPid { get; init; }

    /// <summary>0: the execution had a fresh isolate; n: it ran in the n-th fresh context of a warm isolate
    /// (<see cref="IsolationUnit.Context"/>). For tests, diagnostics and <see cref="SandboxStatistics"/>.</summary>
    internal int WarmContext { get; init; }

    /// <summary>The outcome JSON object of the contract (what <c>warden run</c> prints).</summary>
    public string ToJson() => OutcomeJson.Serialize(this);

    internal static Outcome Failure(OutcomeStatus status, string name, string message, LimitKind? limit = null,
        IReadOnlyList<ConsoleEntry>? console = null, ResourceUsage? usage = null) => new()
    {
        Status = status,
        Error = new ExecutionError(name, message, "", limit),
        Console = console ?? [],
        Usage = usage ?? ResourceUsage.None,
    };

    /// <summary>An <c>invalid_request</c> outcome naming what was wrong (for callers such as the CLI).</summary>
    public static Outcome InvalidRequest(string message) =>
        Failure(OutcomeStatus.InvalidRequest, Protocol.WireErrorNames.InvalidRequest, message);

    /// <summary>An <c>invalid_request</c> outcome whose fault is one member of the submission (see <see cref="ExecutionError.Field"/>).</summary>
    public static Outcome InvalidRequest(string field, string message)
    {
        ArgumentException.ThrowIfNullOrEmpty(field);
        var outcome = InvalidRequest(message);
        return outcome with { Error = outcome.Error! with { Field = field } };
    }

    /// <summary>
    /// An <c>internal_error</c> outcome for a failure of the application around the sandbox rather than of the
    /// script (for callers such as the CLI: no isolation here, a cancelled run).
    /// </summary>
    /// <param name="name">The error's name, e.g. <c>IsolationUnavailable</c>.</param>
    /// <param name="message">What went wrong.</param>
    public static Outcome InternalError(string name, string message) =>
        Failure(OutcomeStatus.InternalError, name, message);
}
