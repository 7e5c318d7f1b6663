using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Warden.Protocol;

namespace Warden.Hosting.Isolation;

/// <summary>
/// Proves the OS layers on this machine instead of trusting the probe: starts one real worker exactly
/// as the sandbox would, asks it (in its configure frame, before any user code) to attempt each
/// forbidden operation with raw system calls before and after its seccomp filter, while the host
/// listens on its own loopback for a connection that must never come; then runs JavaScript in fresh
/// isolates in that same locked-down worker to show the lockdown left it working.
/// </summary>
internal static class LockdownSelfTest
{
    private static readonly (string Code, bool Module)[] Scripts =
    [
        ("1 + 1", false),
        ("export default async function () { await null; return [new Date(0).toISOString(), Math.random() < 1]; }", true),
        ("let a = []; for (let i = 0; i < 1e5; i++) a.push({ i }); a.length", false),
    ];

    public static async Task<LockdownSelfTestReport> RunAsync(SandboxOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        var layers = IsolationProbe.Current.Report;
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        WorkerLaunchSpec spec;
        try
        {
            // The self-test shows what is there: it runs with whatever layers exist, and fails if any is missing.
            var probing = options.Snapshot();
            probing.OsIsolation = options.OsIsolation == OsIsolationMode.Disabled ? OsIsolationMode.Disabled : OsIsolationMode.BestEffort;
            spec = WorkerLaunchSpec.Resolve(probing);
            layers = spec.Isolation.Report.Layers.Count > 0 ? spec.Isolation.Report : layers;
            var configure = WorkerMessages.Configure(probing, spec, probing.DefaultEngine, new WireSelfTest(port));
            await using var worker = await EngineWorker.StartAsync(spec, configure, probing.WorkerStartTimeout, logger, cancellationToken).ConfigureAwait(false);
            var probes = (worker.Lockdown?.Probes ?? []).Select(p => new LockdownProbe(p.Name, p.Phase, p.Refused, p.Detail)).ToList();
            var runs = new List<OutcomeStatus>();
            int n = 0;
            foreach (var (code, module) in Scripts)
            {
                var request = new ExecuteMessage($"self-test-{++n}", configure.Engine, code, null, module, configure.PreparedLimits);
                var outcome = await worker.ExecuteAsync(request, probing.Limits, cancellationToken).ConfigureAwait(false);
                runs.Add(outcome.Status);
            }
            int accepted = 0;
            while (listener.Pending())
            {
                using var _ = listener.AcceptSocket();
                accepted++;
            }
            return new LockdownSelfTestReport
            {
                Layers = layers,
                Probes = probes,
                SeccompInstalled = worker.Lockdown?.Seccomp == true,
                LockdownMs = worker.Lockdown?.LockdownMs ?? 0,
                AllowedSyscalls = worker.Lockdown?.AllowedSyscalls ?? 0,
                ConnectionsAccepted = accepted,
                ScriptRuns = runs,
            };
        }
        catch (Exception e) when (e is WorkerStartException or SandboxOptionsException or IsolationUnavailableException)
        {
            return new LockdownSelfTestReport
            {
                Layers = layers,
                Probes = [],
                SeccompInstalled = false,
                ConnectionsAccepted = 0,
                ScriptRuns = [],
                Error = e.Message,
            };
        }
    }
}
