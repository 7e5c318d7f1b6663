using System.CommandLine;
using Warden;

namespace Warden.Cli;

/// <summary>
/// `warden doctor [--self-test]`: each OS isolation layer, whether workers get it here, and why not
/// when they do not; with --self-test, proof from inside a real locked-down worker. Exit 0 only when
/// every layer is active (and the self-test, if asked for, passed).
/// </summary>
internal static class DoctorCommand
{
    public static Command Build(TextWriter stdout)
    {
        var selfTest = new Option<bool>("--self-test")
        {
            Description = "Start a real locked-down worker and attempt forbidden operations from inside it (file reads and writes, "
                + "a connection to the host's loopback, exec, fork, ptrace, mount, ...); every one must be refused, and "
                + "JavaScript must still run afterwards.",
        };
        var command = new Command("doctor", "Show which OS isolation layers workers get on this machine.") { selfTest };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var report = Sandbox.ProbeIsolation();
            stdout.WriteLine("Warden OS isolation layers:");
            foreach (var layer in report.Layers)
            {
                stdout.WriteLine($"  [{(layer.Active ? "active " : "MISSING")}] {layer.Name,-17} {layer.Detail}");
                if (layer.Remedy is not null)
                {
                    stdout.WriteLine($"            to enable: {layer.Remedy}");
                }
            }
            bool ok = report.AllActive;
            if (parse.GetValue(selfTest))
            {
                ok &= await SelfTestAsync(stdout, cancellationToken).ConfigureAwait(false);
            }
            stdout.WriteLine(ok ? "OK: every layer is active." : "NOT OK: Warden refuses to start here unless weaker isolation is chosen explicitly (--isolation best-effort|none).");
            return ok ? 0 : 1;
        });
        return command;
    }

    private static async Task<bool> SelfTestAsync(TextWriter stdout, CancellationToken cancellationToken)
    {
        stdout.WriteLine();
        stdout.WriteLine("Self-test (from inside a locked-down worker):");
        var result = await Sandbox.RunLockdownSelfTestAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        if (result.Error is not null)
        {
            stdout.WriteLine("  could not run: " + result.Error);
            return false;
        }
        stdout.WriteLine($"  seccomp filter installed: {(result.SeccompInstalled ? $"yes ({result.AllowedSyscalls} allowed system calls; lockdown took {result.LockdownMs:F1} ms)" : "NO")}");
        foreach (var probe in result.Probes)
        {
            stdout.WriteLine($"  [{(probe.Refused ? "refused" : "ALLOWED")}] {probe.Phase,-10} {probe.Name,-32} {probe.Detail}");
        }
        stdout.WriteLine($"  connections accepted by the host's loopback listener: {result.ConnectionsAccepted}");
        stdout.WriteLine($"  JavaScript in fresh isolates afterwards: {string.Join(", ", result.ScriptRuns.Select(s => s.ToWireString()))}");
        stdout.WriteLine($"  self-test {(result.Passed ? "passed" : "FAILED")}");
        return result.Passed;
    }
}
