using System.Text;
using System.Text.Json;
using Warden.Protocol;

namespace Warden.Hosting;

/// <summary>Turns a submission into a fully resolved execution request, or says exactly what is wrong with it.</summary>
internal static class SubmissionValidator
{
    public const int MaxIsolationKeyLength = 256;
    /// <summary>Input nesting deeper than this is refused (validation is iterative; the bound keeps JSON.parse in the isolate cheap).</summary>
    public const int MaxInputDepth = 1000;

    public static string? Validate(Submission submission, SandboxLimits limits, out WireLimits resolved)
    {
        resolved = null!;
        if (submission.Code is null)
        {
            return "code is required";
        }
        int codeBytes = Encoding.UTF8.GetByteCount(submission.Code);
        if (codeBytes > limits.MaxCodeBytes)
        {
            return $"code is {codeBytes} bytes; the limit is {limits.MaxCodeBytes}";
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
                return $"input is {inputBytes} bytes; the limit is {limits.MaxInputBytes}";
            }
            try
            {
                using var _ = JsonDocument.Parse(input, new JsonDocumentOptions { MaxDepth = MaxInputDepth });
            }
            catch (JsonException e)
            {
                return "input is not valid JSON: " + e.Message;
            }
        }
        if (submission.IsolationKey is { } key && (key.Length is 0 or > MaxIsolationKeyLength || key.Any(char.IsControl)))
        {
            return $"isolationKey must be 1 to {MaxIsolationKeyLength} characters without control characters";
        }
        var requested = submission.Limits ?? ExecutionLimits.Default;
        int timeout = requested.TimeoutMs ?? limits.DefaultTimeoutMs;
        if (timeout < 1 || timeout > limits.MaxTimeoutMs)
        {
            return $"limits.timeoutMs must be between 1 and {limits.MaxTimeoutMs}";
        }
        int cpu = requested.CpuMs ?? timeout;
        if (cpu < 1 || cpu > limits.MaxTimeoutMs)
        {
            return $"limits.cpuMs must be between 1 and {limits.MaxTimeoutMs}";
        }
        int memory = requested.MemoryMb ?? limits.DefaultMemoryMb;
        if (memory < SandboxLimits.MinMemoryMb || memory > limits.MaxMemoryMb)
        {
            return $"limits.memoryMb must be between {SandboxLimits.MinMemoryMb} and {limits.MaxMemoryMb}";
        }
        resolved = Resolve(limits, timeout, cpu, memory);
        return null;
    }

    /// <summary>Named modules: only beside a module entry, bounded in number, name and total size.</summary>
    private static string? ModulesProblem(Submission submission, IReadOnlyDictionary<string, string> modules, SandboxLimits limits, int codeBytes)
    {
        if (!submission.IsModule)
        {
            return "modules needs module mode (the entry, code, must be a module)";
        }
        if (modules.Count > MaxModules)
        {
            return $"modules holds {modules.Count} modules; the limit is {MaxModules}";
        }
        long total = codeBytes;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, source) in modules)
        {
            if (name is null || name.Length is 0 or > MaxModuleNameLength || name.Any(char.IsControl))
            {
                return $"modules: every name must be 1 to {MaxModuleNameLength} characters without control characters";
            }
            if (ModuleNames.IsReserved(name))
            {
                return $"modules: the name '{name}' is reserved";
            }
            if (!seen.Add(ModuleNames.Normalise(name)))
            {
                return $"modules: '{name}' names the same module as another entry";
            }
            if (source is null)
            {
                return $"modules: '{name}' has no source";
            }
            total += Encoding.UTF8.GetByteCount(name) + Encoding.UTF8.GetByteCount(source);
            if (total > limits.MaxCodeBytes)
            {
                return $"code and modules together are more than {limits.MaxCodeBytes} bytes (MaxCodeBytes)";
            }
        }
        return null;
    }

    public const int MaxModules = 64;
    public const int MaxModuleNameLength = 256;

    public static WireLimits Resolve(SandboxLimits limits, int timeoutMs, int cpuMs, int memoryMb) =>
        new(timeoutMs, cpuMs, memoryMb, limits.MaxConsoleBytes, limits.MaxConsoleEntries, limits.MaxResultBytes, limits.MaxErrorTextBytes);
}
