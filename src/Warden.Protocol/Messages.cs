using System.Text.Json.Serialization;

namespace Warden.Protocol;

// Every message is one JSON object in one frame, with its "type" first. The host parses
// worker messages with unknown members disallowed, required members enforced and null refused
// for every member not declared nullable, so a compromised worker cannot smuggle anything past
// the schema (see docs/threat-model.md).

[JsonPolymorphic(TypeDiscriminatorPropertyName = "type", UnknownDerivedTypeHandling = JsonUnknownDerivedTypeHandling.FailSerialization)]
[JsonDerivedType(typeof(ConfigureMessage), "configure")]
[JsonDerivedType(typeof(ExecuteMessage), "execute")]
[JsonDerivedType(typeof(ShutdownMessage), "shutdown")]
[JsonDerivedType(typeof(HostReplyMessage), "hostReply")]
internal abstract record HostMessage;

/// <summary>First frame to a new worker: the engine it runs, what it prepares for, and which engine features exist.</summary>
internal sealed record ConfigureMessage(
    [property: JsonRequired] string Engine,
    [property: JsonRequired] WireLimits PreparedLimits,
    [property: JsonRequired] WireFeatures Features,
    [property: JsonRequired] WireLockdown Lockdown) : HostMessage;

/// <summary>
/// What the worker locks down in itself once warm (the namespaces and cgroup are the host's doing).
/// <see cref="SeccompDefault"/> and <see cref="SeccompOmit"/> exist for the allowlist-derivation
/// procedure (tools/seccomp): production workers always get "kill" and no omissions.
/// </summary>
internal sealed record WireLockdown(
    [property: JsonRequired] bool Seccomp,
    [property: JsonRequired] string SeccompDefault,
    string[]? SeccompOmit,
    [property: JsonRequired] bool ResidentMemoryBackstop,
    WireSelfTest? SelfTest);

/// <summary>Asks the worker to attempt forbidden operations around its lockdown and report each.</summary>
internal sealed record WireSelfTest([property: JsonRequired] int LoopbackPort);

/// <summary>
/// One execution. <see cref="Engine"/> repeats the worker's engine: a worker refuses an execution meant for another.
/// <see cref="WarmIsolate"/> null: a fresh isolate; else a fresh context in the worker's warm isolate, kept within these bounds.
/// </summary>
internal sealed record ExecuteMessage(
    [property: JsonRequired] string Id,
    [property: JsonRequired] string Engine,
    [property: JsonRequired] string Code,
    string? Input,
    [property: JsonRequired] bool Module,
    [property: JsonRequired] WireLimits Limits,
    IReadOnlyDictionary<string, string>? Modules = null,
    WireWarmIsolate? WarmIsolate = null,
    WireHostGrant? Host = null) : HostMessage;

/// <summary>
/// The host functions granted to one execution and the limits on calling them; absent (null) when none were
/// granted: the script then has no <c>warden:host</c> module and the execution's frames are exactly those of an
/// execution without the feature.
/// </summary>
/// <param name="Functions">The granted names (JS identifiers, checked by the host): one export of <c>warden:host</c> each; empty when only fetch was granted (no <c>warden:host</c> then).</param>
/// <param name="Fetch">The fetch grant; null: no <c>fetch</c>. Its requests are host calls, counted with the functions'.</param>
internal sealed record WireHostGrant(
    [property: JsonRequired] string[] Functions,
    [property: JsonRequired] int MaxCalls,
    [property: JsonRequired] int MaxConcurrentCalls,
    [property: JsonRequired] int MaxArgumentBytes,
    [property: JsonRequired] int MaxResultBytes,
    [property: JsonRequired] int CallTimeoutMs,
    WireFetchGrant? Fetch = null);

/// <summary>
/// An execution's <c>fetch</c>: the granted origins (canonical, for the isolate's friendly check; the host checks
/// every request itself) and the limits on one request.
/// </summary>
internal sealed record WireFetchGrant(
    [property: JsonRequired] string[] Origins,
    [property: JsonRequired] int MaxRequestBodyBytes,
    [property: JsonRequired] int MaxResponseBytes,
    [property: JsonRequired] int TimeoutMs);

/// <summary>
/// The host's answer to one <see cref="HostCallMessage"/>: exactly one of <see cref="Result"/> (JSON text the
/// host serialised) and <see cref="Error"/>.
/// </summary>
internal sealed record HostReplyMessage(
    [property: JsonRequired] string Id,
    [property: JsonRequired] long CallId,
    string? Result,
    WireHostError? Error) : HostMessage;

/// <summary>How a host call failed, as the script's rejection shows it: <see cref="Name"/> is <c>Error</c>, <c>RangeError</c> or <c>TypeError</c>.</summary>
internal sealed record WireHostError(
    [property: JsonRequired] string Name,
    [property: JsonRequired] string Message);

/// <summary>When the worker replaces its warm isolate (see WarmIsolateOptions): after this many executions, at this age, past this growth.</summary>
internal sealed record WireWarmIsolate(
    [property: JsonRequired] int MaxExecutions,
    [property: JsonRequired] int MaxAgeMs,
    [property: JsonRequired] int MaxHeapGrowthMb);

internal sealed record ShutdownMessage : HostMessage;

[JsonPolymorphic(TypeDiscriminatorPropertyName = "type", UnknownDerivedTypeHandling = JsonUnknownDerivedTypeHandling.FailSerialization)]
[JsonDerivedType(typeof(ReadyMessage), "ready")]
[JsonDerivedType(typeof(StartedMessage), "started")]
[JsonDerivedType(typeof(ConsoleMessage), "console")]
[JsonDerivedType(typeof(ResultMessage), "result")]
[JsonDerivedType(typeof(HostCallMessage), "hostCall")]
internal abstract record WorkerMessage;

internal sealed record ReadyMessage(
    [property: JsonRequired] int Pid,
    [property: JsonRequired] WireEngine Engine,
    [property: JsonRequired] WireLockdownReport Lockdown) : WorkerMessage;

/// <summary>
/// What the host needs to know about the engine a worker runs, told once in <c>ready</c>: before any
/// submission's code has run in that process, so it is trusted as the worker's build says it (the host
/// still checks it against <see cref="WireMemoryRule.Validate"/> and the engine it asked for).
/// </summary>
/// <param name="Name">The engine's contract name (<c>v8</c>), as submissions and outcomes spell it.</param>
/// <param name="Version">The engine's own version, for diagnostics.</param>
/// <param name="Memory">How the engine's memory budget maps onto the host's own measures.</param>
/// <param name="OutOfMemoryMarkers">Texts the engine prints on stderr when it aborts the process for lack of memory.</param>
internal sealed record WireEngine(
    [property: JsonRequired] string Name,
    [property: JsonRequired] string Version,
    [property: JsonRequired] WireMemoryRule Memory,
    [property: JsonRequired] string[] OutOfMemoryMarkers);

/// <summary>What the worker applied to itself, and (self-test only) what each forbidden attempt got.</summary>
internal sealed record WireLockdownReport(
    [property: JsonRequired] bool Seccomp,
    [property: JsonRequired] int AllowedSyscalls,
    [property: JsonRequired] bool RlimitsApplied,
    [property: JsonRequired] double LockdownMs,
    string? Error,
    WireProbe[]? Probes);

/// <summary>One forbidden operation attempted from inside a worker: before or after seccomp, and the result.</summary>
internal sealed record WireProbe(
    [property: JsonRequired] string Name,
    [property: JsonRequired] string Phase,
    [property: JsonRequired] bool Refused,
    [property: JsonRequired] string Detail);

/// <summary>User code is about to run: the host arms its hard deadline from here.</summary>
internal sealed record StartedMessage([property: JsonRequired] string Id) : WorkerMessage;

internal sealed record ConsoleMessage(
    [property: JsonRequired] string Id,
    [property: JsonRequired] string Level,
    [property: JsonRequired] string Text) : WorkerMessage;

/// <summary>
/// The script called a granted host function. SECURITY: attacker-controlled like every worker frame: the host
/// checks the execution id, that <see cref="CallId"/> is the next one, that <see cref="Name"/> was granted to
/// this execution, the arguments' size and shape (a JSON array) and the call limits, and kills the worker on
/// any breach (docs/threat-model.md).
/// </summary>
/// <param name="Arguments">The call's arguments as a JSON array, serialised inside the isolate.</param>
internal sealed record HostCallMessage(
    [property: JsonRequired] string Id,
    [property: JsonRequired] long CallId,
    [property: JsonRequired] string Name,
    [property: JsonRequired] string Arguments) : WorkerMessage;

/// <param name="WarmContext">0: the execution had a fresh isolate; n: it ran in the n-th fresh context of a warm isolate.</param>
internal sealed record ResultMessage(
    [property: JsonRequired] string Id,
    [property: JsonRequired] string Status,
    string? Result,
    WireError? Error,
    [property: JsonRequired] WireUsage Usage,
    int WarmContext = 0) : WorkerMessage;

internal sealed record WireError(
    [property: JsonRequired] string Name,
    [property: JsonRequired] string Message,
    [property: JsonRequired] string Stack,
    string? Limit);

/// <param name="Fuel">The fuel the execution consumed, for an engine that counts fuel (quickjs); null otherwise.</param>
internal sealed record WireUsage(
    [property: JsonRequired] double WallMs,
    [property: JsonRequired] double CpuMs,
    [property: JsonRequired] long MemoryBytes,
    long? Fuel = null);

/// <summary>Limits of one execution, fully resolved by the host (no defaults left to the worker).
/// <see cref="Fuel"/>: the fuel budget on an engine that counts fuel (quickjs); 0 is unlimited.</summary>
internal sealed record WireLimits(
    [property: JsonRequired] int TimeoutMs,
    [property: JsonRequired] int CpuMs,
    [property: JsonRequired] int MemoryMb,
    [property: JsonRequired] int MaxConsoleBytes,
    [property: JsonRequired] int MaxConsoleEntries,
    [property: JsonRequired] int MaxResultBytes,
    [property: JsonRequired] int MaxErrorTextBytes,
    long Fuel = 0);

/// <summary>Engine features that the operator enabled although the engine cannot account for their memory.</summary>
internal sealed record WireFeatures(
    [property: JsonRequired] bool WebAssembly,
    [property: JsonRequired] bool SharedMemory);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    AllowTrailingCommas = false,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Disallow,
    NumberHandling = JsonNumberHandling.Strict,
    // SECURITY: a member declared non-nullable may not be JSON null (a compromised worker's "usage": null or
    // "name": null would otherwise reach code that trusts the schema and throw out of the library instead of
    // being a protocol violation that kills the worker).
    RespectNullableAnnotations = true,
    MaxDepth = 8)]
[JsonSerializable(typeof(HostMessage))]
[JsonSerializable(typeof(WorkerMessage))]
internal sealed partial class ProtocolJsonContext : JsonSerializerContext;
