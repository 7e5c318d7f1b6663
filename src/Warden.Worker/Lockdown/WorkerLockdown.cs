using Warden.Protocol;

namespace Warden.Worker.Lockdown;

/// <summary>
/// The worker's own part of the OS lockdown, applied once it is warm (every code path run, every
/// assembly loaded, every P/Invoke bound: an assembly first loaded after seccomp may need a call
/// the filter refuses): resource limits, then the seccomp filter. The namespaces, the unprivileged
/// uid and the cgroup were applied by the host before this process started. The filter is the
/// engine's: the worker runs one engine, and gets what that engine needs beyond the runtime
/// (<see cref="EngineSyscalls"/>) and nothing more.
/// </summary>
internal static class WorkerLockdown
{
    public static WireLockdownReport Apply(WireLockdown settings, EngineSyscalls engine)
    {
        var probes = settings.SelfTest is null ? null : new List<WireProbe>();
        probes?.AddRange(SelfTestProbes.Run(SelfTestProbes.NamespacesPhase, settings.SelfTest!.LoopbackPort, engine));
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        double Elapsed() => System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        bool rlimits = ResourceLimits.ApplyAfterWarmUp();
        if (!settings.Seccomp)
        {
            return new WireLockdownReport(false, 0, rlimits, Elapsed(), null, probes?.ToArray());
        }
        var mode = settings.SeccompDefault switch
        {
            "kill" => SeccompDefault.Kill,
            "errno" => SeccompDefault.Errno,
            "trace" => SeccompDefault.Trace,
            _ => throw new InvalidOperationException("unknown seccomp default action"),
        };
        int allowed;
        try
        {
            allowed = SeccompFilter.Install(mode, new HashSet<string>(settings.SeccompOmit ?? [], StringComparer.Ordinal), Environment.ProcessId, engine);
        }
        catch (Exception e) when (e is InvalidOperationException or DllNotFoundException or EntryPointNotFoundException)
        {
            // Reported, not swallowed: the host refuses a worker that was asked for seccomp and has none.
            return new WireLockdownReport(false, 0, rlimits, Elapsed(), e.Message, probes?.ToArray());
        }
        double lockdownMs = Elapsed();
        probes?.AddRange(SelfTestProbes.Run(SelfTestProbes.SeccompPhase, settings.SelfTest!.LoopbackPort, engine));
        return new WireLockdownReport(true, allowed, rlimits, lockdownMs, null, probes?.ToArray());
    }
}
