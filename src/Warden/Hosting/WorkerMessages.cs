using Warden.Protocol;

namespace Warden.Hosting;

/// <summary>The host's frames to a worker, built from a sandbox's options and a validated submission.</summary>
internal static class WorkerMessages
{
    /// <summary>The first frame to a new worker: the engine it runs, the sandbox defaults it prepares for, its features and lockdown.</summary>
    public static ConfigureMessage Configure(SandboxOptions options, WorkerLaunchSpec spec, string engine, WireSelfTest? selfTest = null)
    {
        var limits = options.Limits;
        return new ConfigureMessage(
            engine,
            SubmissionValidator.Resolve(limits, limits.DefaultTimeoutMs, limits.DefaultTimeoutMs, limits.DefaultMemoryMb),
            new WireFeatures(options.EnableWebAssembly, options.EnableSharedMemory),
            new WireLockdown(spec.Isolation.Seccomp, options.SeccompDefault, options.SeccompOmit, options.ResidentMemoryBackstop, selfTest));
    }

    /// <summary>One execution of a submission that passed validation, with its resolved limits and isolation unit.</summary>
    public static ExecuteMessage Execute(string id, string engine, Submission submission, WireLimits limits, SandboxOptions options) =>
        new(id, engine, submission.Code, submission.InputJson, submission.IsModule, limits,
            submission.Modules is { Count: > 0 } modules ? new Dictionary<string, string>(modules, StringComparer.Ordinal) : null,
            (submission.IsolationUnit ?? options.IsolationUnit) == IsolationUnit.Context ? WarmIsolate(options.WarmIsolate) : null,
            HostGrant(submission, options));

    /// <summary>
    /// The granted host functions and origins with the sandbox's host-call and fetch limits; null for a submission
    /// that grants neither (its frames are then exactly those of an execution without the feature).
    /// </summary>
    private static WireHostGrant? HostGrant(Submission submission, SandboxOptions options)
    {
        var functions = submission.HostFunctions ?? [];
        var origins = submission.FetchOrigins ?? [];
        if (functions.Count == 0 && origins.Count == 0)
        {
            return null;
        }
        var limits = options.Limits;
        WireFetchGrant? fetch = origins.Count == 0 ? null : new(
            [.. origins.Select(origin => options.FetchOrigins.Find(origin)!.Origin)],
            limits.MaxFetchRequestBodyBytes, limits.MaxFetchResponseBytes, limits.FetchTimeoutMs);
        return new([.. functions], limits.MaxHostCalls, limits.MaxConcurrentHostCalls, limits.MaxHostCallArgumentBytes,
            limits.MaxHostCallResultBytes, limits.HostCallTimeoutMs, fetch);
    }

    private static WireWarmIsolate WarmIsolate(WarmIsolateOptions warm) =>
        new(warm.MaxExecutions, (int)Math.Min(int.MaxValue, warm.MaxAge.TotalMilliseconds), warm.MaxHeapGrowthMb);
}
