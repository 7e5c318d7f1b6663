namespace Warden.Hosting.Isolation;

/// <summary>
/// The namespace layer: bubblewrap (Debian's <c>bubblewrap</c>, the sandbox Flatpak relies on) puts the
/// worker in new user, mount, PID, network, IPC, UTS (and cgroup) namespaces, as uid/gid 65534 with
/// every capability dropped, in a new session (no terminal to inject keystrokes into), with an empty
/// environment, and kills it when the host goes away. Its filesystem is a read-only tmpfs holding only
/// the .NET runtime, the system libraries and the worker's own binaries, plus a private /proc and a
/// minimal /dev; the worker is the only process in its PID namespace: no /etc, /home, /tmp, /var or /root. Its network namespace has only its own
/// loopback (up, with nothing listening: the host's loopback is unreachable). When the host runs as root, setpriv (<see cref="SetprivPrefix"/>)
/// first drops to uid 65534 outside too, so the worker is unprivileged even to a kernel bug that
/// escapes the user namespace.
/// </summary>
internal static class BubblewrapCommand
{
    public const int WorkerUid = 65534;
    public const string DotnetRootInside = "/warden/dotnet";
    public const string WorkerDirInside = "/warden/worker";

    /// <summary>What of the .NET root a framework-dependent app needs to start.</summary>
    public static readonly string[] RuntimeParts = ["host/fxr", "shared/Microsoft.NETCore.App"];

    /// <summary>System library directories a dynamically linked dotnet host, CoreCLR, ICU, V8 and libseccomp load from.</summary>
    private static readonly string[] LibraryDirectories = ["/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/lib64", "/lib"];

    /// <summary>setpriv, run by the (root) host's launcher: uid/gid 65534 outside any namespace, no groups,
    /// no capabilities (inheritable and bounding sets emptied), no_new_privs, killed when the host dies.</summary>
    public static IEnumerable<string> SetprivPrefix(string setprivPath) =>
        [setprivPath, $"--reuid={WorkerUid}", $"--regid={WorkerUid}", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs",
            // Dies with the host even without bubblewrap (the spawner thread never exits).
            "--pdeathsig=KILL"];

    /// <summary>bubblewrap and the namespace, identity and lifetime options every worker gets (also what the probe tries).</summary>
    public static List<string> Isolation(string bwrapPath, bool disableNestedUserNamespaces)
    {
        var args = new List<string>
        {
            bwrapPath,
            "--unshare-user", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
            "--uid", WorkerUid.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--gid", WorkerUid.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--hostname", "warden",
            "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--clearenv",
            // The worker is PID 1 of its namespace: no bubblewrap init beside it that it could
            // ptrace or signal (measured: without this, the worker could attach to that init
            // before its seccomp filter was in place).
            "--as-pid-1",
        };
        if (disableNestedUserNamespaces)
        {
            args.Add("--disable-userns");
        }
        return args;
    }

    public static List<string> Build(string bwrapPath, bool disableNestedUserNamespaces,
        string dotnetHost, string workerAssembly, IReadOnlyList<string> workerFiles, IReadOnlyDictionary<string, string> environment)
    {
        var args = Isolation(bwrapPath, disableNestedUserNamespaces);
        foreach (var (name, value) in environment)
        {
            args.AddRange(["--setenv", name, value]);
        }
        foreach (var directory in LibraryDirectories)
        {
            var info = new DirectoryInfo(directory);
            if (info.Parent is { } parent && HasLinkInPath(parent))
            {
                continue; // Reached through a symlink (merged /usr): the link's target is bound instead.
            }
            if (info.LinkTarget is { } target)
            {
                args.AddRange(["--symlink", target, directory]);
            }
            else if (info.Exists && directory != "/lib")
            {
                args.AddRange(["--ro-bind", directory, directory]);
            }
        }
        string dotnetRoot = Path.GetDirectoryName(dotnetHost)!;
        string workerDir = Path.GetDirectoryName(workerAssembly)!;
        // Only the runtime: the host, hostfxr and the shared framework. A dotnet root in a user's
        // home also holds that user's certificate stores (corefx/cryptography/x509stores), SDKs and tools.
        args.AddRange(["--ro-bind", dotnetHost, Path.Combine(DotnetRootInside, Path.GetFileName(dotnetHost))]);
        foreach (var part in RuntimeParts)
        {
            if (Directory.Exists(Path.Combine(dotnetRoot, part)))
            {
                args.AddRange(["--ro-bind", Path.Combine(dotnetRoot, part), Path.Combine(DotnetRootInside, part)]);
            }
        }
        // Only the worker's own files, one by one: its directory is usually the host application's,
        // with the application's configuration and secrets beside it.
        foreach (var file in workerFiles)
        {
            args.AddRange(["--ro-bind", Path.Combine(workerDir, file), Path.Combine(WorkerDirInside, file)]);
        }
        args.AddRange([
            "--proc", "/proc",
            // Only the devices the runtime and V8 read (not bubblewrap's --dev, whose /dev/pts lets a
            // worker allocate from the machine-wide pty pool); read-only like everything else.
            "--tmpfs", "/dev",
            "--dev-bind", "/dev/null", "/dev/null",
            "--dev-bind", "/dev/zero", "/dev/zero",
            "--dev-bind", "/dev/random", "/dev/random",
            "--dev-bind", "/dev/urandom", "/dev/urandom",
            "--remount-ro", "/dev",
            "--remount-ro", "/",
            "--chdir", WorkerDirInside,
            "--",
            Path.Combine(DotnetRootInside, Path.GetFileName(dotnetHost)),
            Path.Combine(WorkerDirInside, Path.GetFileName(workerAssembly))]);
        return args;
    }

    private static bool HasLinkInPath(DirectoryInfo? directory)
    {
        for (; directory is not null; directory = directory.Parent)
        {
            if (directory.LinkTarget is not null)
            {
                return true;
            }
        }
        return false;
    }
}
