using System.Text;
using System.Text.Json;
using Warden.Protocol;

namespace Warden.Hosting;

/// <summary>
/// Turns a submission into a fully resolved execution request (engine and limits), or says exactly what is
/// wrong with it: the member at fault, as the contract's JSON path, and a message that starts with it.
/// SECURITY: every member of a submission may come from an attacker (the HTTP API hands them over as sent);
/// nothing reaches a worker before this has bounded its size and checked its shape.
/// </summary>
internal static class SubmissionValidator
{
    /// <summary>Input nesting deeper than this is refused (validation is iterative; the bound keeps JSON.parse in the isolate cheap).</summary>
    public const int MaxInputDepth = 1000;

    public const int MaxModules = Submission.MaxModules;
    public const int MaxModuleNameLength = 256;

    /// <summary>An engine name longer than this is not echoed back in the refusal.</summary>
    private const int MaxEchoedEngineLength = 64;

    /// <summary>
    /// Checks a submission against the sandbox's options. <paramref name="engine"/> is the engine it runs on;
    /// when it is refused, the engine it was meant for if this sandbox offers it, else the default (a refused
    /// name is never handed on).
    /// </summary>
    public static SubmissionProblem? Validate(Submission submission, SandboxOptions options, out WireLimits resolved, out string engine)
    {
        resolved = null!;
        var limits = options.Limits;
        // Resolved first, so that every refusal names the engine meant; reported after the code's problem.
        var engineProblem = EngineProblem(submission.Engine, options, out engine);
        if (submission.Code is null)
        {
            return new("code", "code is required");
        }
        if (engineProblem is not null)
        {
            return engineProblem;
        }
        if (submission.IsolationUnit is { } unit && options.IsolationUnitProblem(unit) is { } unitProblem)
        {
            return new("isolationUnit", "isolationUnit " + unitProblem);
        }
        // The sandbox's own unit too: a quickjs submission in a sandbox of warm contexts is refused, not run fresh.
        if (EngineCatalog.UnitProblem(engine, submission.IsolationUnit ?? options.IsolationUnit) is { } engineUnitProblem)
        {
            return new("isolationUnit", "isolationUnit " + engineUnitProblem);
        }
        var requested = submission.Limits ?? ExecutionLimits.Default;
        bool countsFuel = EngineCatalog.CountsFuel(engine);
        if (requested.Fuel is not null && !countsFuel)
        {
            // Before the ceilings: on this engine the field means nothing, whatever its value.
            return new("limits.fuel", $"limits.fuel: fuel is counted only by the {EngineNames.QuickJs} engine (this submission runs on {engine})");
        }
        if (submission.Ceilings is { } ceilings && CeilingProblem(ceilings, requested) is { } ceilingProblem)
        {
            return ceilingProblem;
        }
        int codeBytes = Encoding.UTF8.GetByteCount(submission.Code);
        if (codeBytes > limits.MaxCodeBytes)
        {
            return new("code", $"code is {codeBytes} bytes; the limit is {limits.MaxCodeBytes}");
        }
        if (submission.Modules is { } modules && ModulesProblem(submission, modules, limits, codeBytes) is { } problem)
        {
            return problem;
        }
        if (submission.InputJson is { } input)
        {
            int inputBytes = Encoding.UTF8.GetByteCount(input);
            if (inputBytes > limits.MaxInputBytes)
            {
                return new("input", $"input is {inputBytes} bytes; the limit is {limits.MaxInputBytes}");
            }
            try
            {
                using var _ = JsonDocument.Parse(input, new JsonDocumentOptions { MaxDepth = MaxInputDepth });
            }
            catch (JsonException e)
            {
                return new("input", "input is not valid JSON: " + e.Message);
            }
        }
        if (submission.IsolationKey is { } key && (key.Length is 0 or > Submission.MaxIsolationKeyLength || key.Any(char.IsControl)))
        {
            return new("isolationKey", $"isolationKey must be 1 to {Submission.MaxIsolationKeyLength} characters without control characters");
        }
        if (submission.HostFunctions is { Count: > 0 } granted
            && HostFunctionsProblem(granted, submission, engine, options) is { } hostProblem)
        {
            return hostProblem;
        }
        if (submission.FetchOrigins is { Count: > 0 } origins
            && FetchOriginsProblem(origins, submission, engine, options) is { } fetchProblem)
        {
            return fetchProblem;
        }
        int timeout = requested.TimeoutMs ?? Lowered(limits.DefaultTimeoutMs, submission.Ceilings?.MaxTimeoutMs);
        if (timeout < 1 || timeout > limits.MaxTimeoutMs)
        {
            return new("limits.timeoutMs", $"limits.timeoutMs must be between 1 and {limits.MaxTimeoutMs}");
        }
        int cpu = requested.CpuMs ?? timeout;
        if (cpu < 1 || cpu > limits.MaxTimeoutMs)
        {
            return new("limits.cpuMs", $"limits.cpuMs must be between 1 and {limits.MaxTimeoutMs}");
        }
        int memory = requested.MemoryMb ?? Lowered(limits.DefaultMemoryMb, submission.Ceilings?.MaxMemoryMb);
        if (memory < SandboxLimits.MinMemoryMb || memory > limits.MaxMemoryMb)
        {
            return new("limits.memoryMb", $"limits.memoryMb must be between {SandboxLimits.MinMemoryMb} and {limits.MaxMemoryMb}");
        }
        // 0 is the wire's "no fuel limit": an engine that counts no fuel always gets it.
        long fuel = countsFuel ? requested.Fuel ?? LoweredFuel(limits.DefaultFuel, submission.Ceilings?.MaxFuel, limits.MaxFuel) : 0;
        if (fuel < 0 || fuel > limits.MaxFuel || (requested.Fuel is not null && fuel == 0))
        {
            return new("limits.fuel", $"limits.fuel must be between 1 and {limits.MaxFuel}");
        }
        resolved = Resolve(limits, timeout, cpu, memory, fuel);
        return null;
    }

    /// <summary>Where host calls (functions or fetch, granted in <paramref name="field"/>) cannot be served: a warm isolate, the test engine.</summary>
    private static SubmissionProblem? HostCallsProblem(string field, Submission submission, string engine, SandboxOptions options)
    {
        if ((submission.IsolationUnit ?? options.IsolationUnit) == IsolationUnit.Context)
        {
            return new(field, $"{field} can only be granted to an execution in a fresh isolate (isolationUnit Isolate)");
        }
        if (engine == EngineNames.Test)
        {
            return new(field, $"{field} are not offered by the {engine} engine");
        }
        return null;
    }

    /// <summary>
    /// Granted host functions: registered names, each allowed for the submission's isolation key, no name twice,
    /// and only in a fresh isolate (a warm isolate's contexts would share the module cache the grant lives in).
    /// </summary>
    private static SubmissionProblem? HostFunctionsProblem(IReadOnlyList<string> granted, Submission submission, string engine, SandboxOptions options)
    {
        if (HostCallsProblem("hostFunctions", submission, engine, options) is { } problem)
        {
            return problem;
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in granted)
        {
            // The name is the application's, but may have come from a request: echoed only once it is known.
            if (name is null || options.HostFunctions.Find(name) is not { } registration)
            {
                return new("hostFunctions", HostCallWords.IsValidName(name)
                    ? $"hostFunctions: no host function named '{name}' is registered"
                    : "hostFunctions: every name must be a registered host function");
            }
            if (!registration.AllowsIsolationKey(submission.IsolationKey))
            {
                return new("hostFunctions", $"hostFunctions: '{name}' may not be granted to this isolation key");
            }
            if (!seen.Add(name))
            {
                return new("hostFunctions", $"hostFunctions: '{name}' is granted twice");
            }
        }
        return null;
    }

    /// <summary>
    /// Granted fetch origins: each registered (in any spelling of it), allowed for the submission's isolation key,
    /// none twice, and only in a fresh isolate, as host functions (fetch is served through the same calls).
    /// </summary>
    private static SubmissionProblem? FetchOriginsProblem(IReadOnlyList<string> granted, Submission submission, string engine, SandboxOptions options)
    {
        if (HostCallsProblem("fetchOrigins", submission, engine, options) is { } problem)
        {
            return problem;
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var origin in granted)
        {
            // The origin may have come from a request: echoed only once it is known to be a registered one.
            if (origin is null || options.FetchOrigins.Find(origin) is not { } registration)
            {
                return new("fetchOrigins", "fetchOrigins: every origin must be one registered in the sandbox's FetchOrigins");
            }
            if (!registration.AllowsIsolationKey(submission.IsolationKey))
            {
                return new("fetchOrigins", $"fetchOrigins: '{registration.Origin}' may not be granted to this isolation key");
            }
            if (!seen.Add(registration.Origin))
            {
                return new("fetchOrigins", $"fetchOrigins: '{registration.Origin}' is granted twice");
            }
        }
        return null;
    }

    /// <summary>Null is the sandbox's default engine; anything else must be one the sandbox offers, spelt exactly.</summary>
    private static SubmissionProblem? EngineProblem(string? requested, SandboxOptions options, out string engine)
    {
        string asked = requested ?? options.DefaultEngine;
        var offered = EngineCatalog.Offered(options);
        if (offered.Contains(asked, StringComparer.Ordinal))
        {
            engine = asked;
            return null;
        }
        engine = options.DefaultEngine;
        // The name is the caller's text: echoed only when short and printable, so that a refusal (which
        // servers log and return) cannot be made to carry megabytes or terminal control sequences.
        string named = asked.Length is > 0 and <= MaxEchoedEngineLength && asked.All(c => c is >= ' ' and <= '~') ? $"engine '{asked}'" : "engine";
        return new("engine", $"{named} is not available; this sandbox offers: {string.Join(", ", offered)}");
    }

    /// <summary>A limit asked for above the application's ceiling is refused, not lowered: the caller learns why.</summary>
    private static SubmissionProblem? CeilingProblem(ExecutionCeilings ceilings, ExecutionLimits requested)
    {
        if (ceilings.MaxTimeoutMs is int maxTime)
        {
            if ((requested.TimeoutMs ?? 0) > maxTime)
            {
                return new("limits.timeoutMs", $"limits.timeoutMs is above {ceilings.Owner}'s ceiling ({maxTime}).");
            }
            if ((requested.CpuMs ?? 0) > maxTime)
            {
                return new("limits.cpuMs", $"limits.cpuMs is above {ceilings.Owner}'s ceiling ({maxTime}).");
            }
        }
        if (ceilings.MaxMemoryMb is int maxMemory && (requested.MemoryMb ?? 0) > maxMemory)
        {
            return new("limits.memoryMb", $"limits.memoryMb is above {ceilings.Owner}'s ceiling ({maxMemory}).");
        }
        if (ceilings.MaxFuel is long maxFuel && (requested.Fuel ?? 0) > maxFuel)
        {
            return new("limits.fuel", $"limits.fuel is above {ceilings.Owner}'s ceiling ({maxFuel}).");
        }
        return null;
    }

    /// <summary>A limit left out is the sandbox's default, or the ceiling when that is lower.</summary>
    private static int Lowered(int sandboxDefault, int? ceiling) => ceiling is int c && c < sandboxDefault ? c : sandboxDefault;

    /// <summary>
    /// Fuel left out: the sandbox's default lowered to the ceiling; an unlimited default (null) lowered to a
    /// ceiling is the ceiling, itself no higher than the sandbox's maximum. 0: no fuel limit.
    /// </summary>
    private static long LoweredFuel(long? sandboxDefault, long? ceiling, long sandboxMax) =>
        (sandboxDefault, ceiling) switch
        {
            (long d, long c) => Math.Min(d, c),
            (long d, null) => d,
            (null, long c) => Math.Min(c, sandboxMax),
            _ => 0,
        };

    /// <summary>Named modules: only beside a module entry, bounded in number, name and total size.</summary>
    private static SubmissionProblem? ModulesProblem(Submission submission, IReadOnlyDictionary<string, string> modules, SandboxLimits limits, int codeBytes)
    {
        if (!submission.IsModule)
        {
            return new("modules", "modules needs module mode (the entry, code, must be a module)");
        }
        if (modules.Count > MaxModules)
        {
            return new("modules", $"modules holds {modules.Count} modules; the limit is {MaxModules}");
        }
        long total = codeBytes;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, source) in modules)
        {
            if (name is null || name.Length is 0 or > MaxModuleNameLength || name.Any(char.IsControl))
            {
                return new("modules", $"modules: every name must be 1 to {MaxModuleNameLength} characters without control characters");
            }
            if (ModuleNames.IsReserved(name))
            {
                return new("modules", $"modules: the name '{name}' is reserved");
            }
            if (!seen.Add(ModuleNames.Normalise(name)))
            {
                return new("modules", $"modules: '{name}' names the same module as another entry");
            }
            if (source is null)
            {
                return new("modules", $"modules: '{name}' has no source");
            }
            total += Encoding.UTF8.GetByteCount(name) + Encoding.UTF8.GetByteCount(source);
            if (total > limits.MaxCodeBytes)
            {
                return new("modules", $"code and modules together are more than {limits.MaxCodeBytes} bytes (MaxCodeBytes)");
            }
        }
        return null;
    }

    /// <summary>The wire's limits: the execution's own, the sandbox's output caps, and the fuel budget (0, the default: no fuel limit).</summary>
    public static WireLimits Resolve(SandboxLimits limits, int timeoutMs, int cpuMs, int memoryMb, long fuel = 0) =>
        new(timeoutMs, cpuMs, memoryMb, limits.MaxConsoleBytes, limits.MaxConsoleEntries, limits.MaxResultBytes, limits.MaxErrorTextBytes, fuel);
}
