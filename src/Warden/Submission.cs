namespace Warden;

/// <summary>One piece of untrusted JavaScript to run, with its input and limits.</summary>
public sealed record Submission
{
    /// <summary>The longest <see cref="IsolationKey"/>, in UTF-16 characters.</summary>
    public const int MaxIsolationKeyLength = 256;

    /// <summary>The JavaScript source: a classic script, or an ES module when <see cref="IsModule"/> is set.</summary>
    public required string Code { get; init; }

    /// <summary>The input as JSON text (exactly one JSON value), seen by the script as the global <c>input</c>; null gives <c>input === null</c>.</summary>
    public string? InputJson { get; init; }

    /// <summary>Run <see cref="Code"/> as an ES module whose default export is the result.</summary>
    public bool IsModule { get; init; }

    /// <summary>
    /// More ES modules, by name, that the entry module (<see cref="Code"/>, with <see cref="IsModule"/>)
    /// and each other may import: by bare name (<c>import { f } from "util.js"</c>) or by a relative
    /// path resolved against the importer's name (<c>"./util.js"</c>, <c>"../lib/x.js"</c>; the entry
    /// sits at the root). Nothing else can be imported: no file system, no network. At most
    /// <see cref="MaxModules"/> modules; names 1 to 256 characters; all sources together count against
    /// <c>MaxCodeBytes</c>.
    /// </summary>
    public IReadOnlyDictionary<string, string>? Modules { get; init; }

    /// <summary>How many named <see cref="Modules"/> one submission may have.</summary>
    public const int MaxModules = 64;

    /// <summary>Per-execution limits; each null falls back to the sandbox default and none may exceed the sandbox maximum.</summary>
    public ExecutionLimits Limits { get; init; } = ExecutionLimits.Default;

    /// <summary>
    /// The tenant this execution belongs to. Workers serve one key at a time and never pass from one key
    /// to another; null puts the execution in this sandbox's shared keyless group. 1 to
    /// <see cref="MaxIsolationKeyLength"/> characters, no control characters.
    /// </summary>
    public string? IsolationKey { get; init; }

    /// <summary>
    /// The engine to run the script: <c>v8</c> (ClearScript V8) or <c>quickjs</c> (QuickJS-NG in WebAssembly: a fresh
    /// VM per execution, an exact memory cap, deterministic fuel). Null: the sandbox's <see cref="SandboxOptions.DefaultEngine"/>.
    /// An engine this sandbox does not offer is <c>invalid_request</c>, naming the ones it does.
    /// </summary>
    public string? Engine { get; init; }

    /// <summary>
    /// Maximums tighter than the sandbox's for this submission (say, its API key's); null: the sandbox's.
    /// Set by the application, never taken from the untrusted request.
    /// </summary>
    public ExecutionCeilings? Ceilings { get; init; }

    /// <summary>
    /// A fresh isolate or a fresh context in a warm isolate of the same key (<see cref="Warden.IsolationUnit"/>)
    /// for this submission; null: the sandbox's <see cref="SandboxOptions.IsolationUnit"/>. Set by the
    /// application (say, per API key), never taken from the untrusted request. The quickjs engine has no warm
    /// mode: a quickjs submission whose unit (its own or the sandbox's) is <see cref="IsolationUnit.Context"/> is
    /// <c>invalid_request</c>, never quietly run in a fresh VM.
    /// </summary>
    public IsolationUnit? IsolationUnit { get; init; }

    /// <summary>
    /// The host functions this execution may call (names registered in <see cref="SandboxOptions.HostFunctions"/>),
    /// exported by the module <c>warden:host</c>; null or empty: none, and <c>warden:host</c> does not exist. A name
    /// that is not registered, or whose registration does not allow this <see cref="IsolationKey"/>, is
    /// <c>invalid_request</c>; so is a grant in a warm isolate (<see cref="IsolationUnit.Context"/>). Set by the
    /// application, never taken from the untrusted request as such.
    /// </summary>
    public IReadOnlyList<string>? HostFunctions { get; init; }

    /// <summary>
    /// The origins this execution may <c>fetch</c> (each registered in <see cref="SandboxOptions.FetchOrigins"/>, in
    /// any spelling of it); null or empty: none, and the script has no <c>fetch</c>, <c>Request</c>, <c>Response</c>
    /// or <c>Headers</c>. An origin that is not registered, or whose registration does not allow this
    /// <see cref="IsolationKey"/>, is <c>invalid_request</c>; so is a grant in a warm isolate. Set by the application;
    /// an HTTP caller's request may only narrow what its API key was granted.
    /// </summary>
    public IReadOnlyList<string>? FetchOrigins { get; init; }
}

/// <summary>Limits requested for one execution. Null means "the sandbox default".</summary>
/// <param name="TimeoutMs">Wall-clock milliseconds from the start of the execution.</param>
/// <param name="CpuMs">CPU milliseconds of the script thread; defaults to the timeout.</param>
/// <param name="MemoryMb">The execution's memory budget in megabytes: heap, ArrayBuffers and the engine's off-heap memory together.</param>
/// <param name="Fuel">
/// The fuel budget, on an engine that counts fuel (quickjs): about one WebAssembly instruction of the QuickJS
/// interpreter a unit, 1 to <see cref="SandboxLimits.MaxFuel"/>; running out ends the execution as <c>timeout</c>
/// with <c>error.limit</c> <c>fuel</c>. Null: <see cref="SandboxLimits.DefaultFuel"/> (no fuel limit unless the
/// operator set one). On an engine that counts no fuel (v8) it is <c>invalid_request</c>.
/// </param>
public sealed record ExecutionLimits(int? TimeoutMs = null, int? CpuMs = null, int? MemoryMb = null, long? Fuel = null)
{
    /// <summary>All defaults.</summary>
    public static ExecutionLimits Default { get; } = new();
}
