using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Warden.Hosting.Isolation;

/// <summary>
/// Finds out which OS isolation layers this machine gives workers, by trying them (a sandbox that
/// only looks for binaries would report a layer the kernel then refuses). Run once per host process.
/// </summary>
internal static partial class IsolationProbe
{
    private static readonly Lazy<Facts> Cached = new(Gather);

    /// <summary>What was found, including what the launch needs (tool paths).</summary>
    internal sealed record Facts(IsolationReport Report, string? BwrapPath, string? SetprivPath, bool DisableNestedUserNamespaces,
        CgroupDriver? Cgroups, bool SeccompAvailable);

    public static Facts Current => Cached.Value;

    private static Facts Gather()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            string why = $"workers are locked down only on Linux x86-64 (this is {RuntimeInformation.OSDescription}, {RuntimeInformation.ProcessArchitecture})";
            return new Facts(new IsolationReport(
            [
                new("platform", false, why, "run Warden on Linux x86-64 (a container or VM is fine)"),
                new("namespaces", false, why, null),
                new("unprivileged-uid", false, why, null),
                new("seccomp", false, why, null),
                new("cgroup", false, why, null),
            ]), null, null, false, null, false);
        }

        var layers = new List<IsolationLayer> { new("platform", true, $"Linux x86-64 ({Environment.OSVersion.Version})", null) };

        bool root = Environment.IsPrivilegedProcess;
        string? setpriv = root ? FindTool("setpriv") : null;
        layers.Add(!root
            ? new("unprivileged-uid", true, $"the host itself runs unprivileged (uid {geteuid()}); workers keep that uid outside their user namespace", null)
            : setpriv is not null
                ? new("unprivileged-uid", true, $"the host runs as root; workers drop to uid {BubblewrapCommand.WorkerUid} before entering their namespaces (setpriv)", null)
                : new("unprivileged-uid", false, "the host runs as root and setpriv (util-linux) was not found, so workers would keep uid 0 outside their user namespace",
                    "apt-get install -y util-linux"));

        string? bwrap = FindTool("bwrap");
        bool disableUserns = false;
        if (bwrap is null)
        {
            layers.Add(new("namespaces", false, "bubblewrap (bwrap) was not found",
                "apt-get install -y bubblewrap   (Debian/Ubuntu; Fedora: dnf install bubblewrap)"));
        }
        else
        {
            disableUserns = Run(bwrap, ["--help"]).Output.Contains("--disable-userns", StringComparison.Ordinal);
            var trial = TrialRun(bwrap, setpriv, disableUserns);
            layers.Add(trial.ExitCode == 0
                ? new("namespaces", true, $"bubblewrap ({bwrap}): user, mount, PID, network, IPC and UTS namespaces; read-only runtime and libraries only; no capabilities"
                    + (disableUserns ? "; nested user namespaces disabled" : ""), null)
                : new("namespaces", false, $"bubblewrap could not create the namespaces here: {trial.Output.Trim()}",
                    "allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 on Debian kernels that have it; "
                    + "user.max_user_namespaces > 0; in a container, a seccomp/AppArmor profile that permits unshare/clone with CLONE_NEWUSER)"));
        }

        bool seccompKernel = File.Exists("/proc/self/status") && File.ReadLines("/proc/self/status").Any(l => l.StartsWith("Seccomp:", StringComparison.Ordinal));
        bool libseccomp = NativeLibrary.TryLoad("libseccomp.so.2", out var handle);
        if (libseccomp)
        {
            NativeLibrary.Free(handle);
        }
        layers.Add(seccompKernel && libseccomp
            ? new("seccomp", true, "libseccomp 2 found; each worker installs its allowlist (no_new_privs, all threads) after warm-up", null)
            : new("seccomp", false, !seccompKernel ? "the kernel does not support seccomp filters" : "libseccomp.so.2 was not found",
                !seccompKernel ? "use a kernel built with CONFIG_SECCOMP_FILTER" : "apt-get install -y libseccomp2"));

        var (cgroups, cgroupDetail) = CgroupDriver.Shared;
        layers.Add(cgroups is not null
            ? new("cgroup", true, $"{cgroupDetail}: per-worker memory, tasks and CPU caps", null)
            : new("cgroup", false, cgroupDetail, root ? GenericCgroupRemedy : DelegationRemedy(geteuid(), FindTool("systemd-run"))));

        return new Facts(new IsolationReport(layers), bwrap, setpriv, disableUserns, cgroups, seccompKernel && libseccomp);
    }

    private const string GenericCgroupRemedy =
        "run the host as root, or with a delegated cgroup (systemd: Delegate=yes; containers: a writable cgroup v2 namespace with memory, pids and cpu enabled)";

    /// <summary>
    /// For an ordinary user: the exact command that gives Warden a cgroup of its own where systemd is
    /// the init system (a transient scope of the user's own systemd manager, with delegation), and the
    /// one-time administrator step when that manager was not given the memory, pids and cpu controllers.
    /// </summary>
    internal static string DelegationRemedy(uint uid, string? systemdRun, string systemdRuntime = "/run/systemd/system", string cgroupRoot = "/sys/fs/cgroup")
    {
        if (systemdRun is null || !Directory.Exists(systemdRuntime))
        {
            return GenericCgroupRemedy;
        }
        string remedy = $"start Warden in a delegated scope of your systemd user manager: {systemdRun} --user --scope -p Delegate=yes -- ./warden run ...  "
            + "(or `warden serve` likewise; a service unit of your own with Delegate=yes works too)";
        string controllersFile = $"{cgroupRoot}/user.slice/user-{uid}.slice/user@{uid}.service/cgroup.controllers";
        try
        {
            var have = File.ReadAllText(controllersFile).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var missing = new[] { "memory", "pids", "cpu" }.Except(have).ToList();
            if (missing.Count > 0)
            {
                remedy += $"; first, once, as root: your user manager lacks the {string.Join(", ", missing)} controller(s), so run "
                    + "`systemctl edit user@.service`, add `[Service]` and `Delegate=pids memory cpu`, then log out and in again";
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            remedy += $"; if that scope lacks the memory, pids or cpu controller, as root once: `systemctl edit user@.service` with `[Service]` and `Delegate=pids memory cpu`";
        }
        return remedy;
    }

    /// <summary>Creates the namespaces exactly as workers get them and runs a trivial program inside.</summary>
    private static (int ExitCode, string Output) TrialRun(string bwrap, string? setpriv, bool disableUserns)
    {
        string truePath = new[] { "/usr/bin/true", "/bin/true" }.FirstOrDefault(File.Exists) ?? "/usr/bin/true";
        var command = (setpriv is null ? [] : BubblewrapCommand.SetprivPrefix(setpriv))
            .Concat(BubblewrapCommand.Isolation(bwrap, disableUserns))
            .Concat(["--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", truePath])
            .ToList();
        return Run(command[0], command.Skip(1));
    }

    private static (int ExitCode, string Output) Run(string program, IEnumerable<string> arguments)
    {
        try
        {
            var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in arguments)
            {
                info.ArgumentList.Add(a);
            }
            info.Environment.Clear();
            using var process = Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(10_000))
            {
                process.Kill(entireProcessTree: true);
                return (-1, "timed out");
            }
            return (process.ExitCode, stdout.Result + stderr.Result);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return (-1, e.Message);
        }
    }

    /// <summary>The system's copy first (the host's PATH may be someone else's choice); absolute directories only.</summary>
    internal static string? FindTool(string name) =>
        new[] { "/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin" }
            .Concat((Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Where(Path.IsPathRooted))
            .Select(d => Path.Combine(d, name))
            .FirstOrDefault(File.Exists);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint geteuid();
}
