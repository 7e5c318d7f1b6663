using System.Net;
using System.Runtime.InteropServices;
using Warden.Protocol;

namespace Warden.Worker.Lockdown;

/// <summary>
/// The lockdown self-test's attacker: from inside a real worker, attempts what native code that
/// escaped V8 would try, with raw system calls (no .NET API in between that could refuse on its own),
/// and records what the kernel answered. Runs only when the host asks for a self-test in the
/// configure frame, before any user code; JavaScript cannot reach it.
/// Probes that would change the worker if they succeeded (fork, kill, unshare...) run only after
/// seccomp, where success would already be the failure being tested for.
/// </summary>
internal static unsafe partial class SelfTestProbes
{
    // x86-64 syscall numbers.
    private const long SysClose = 3, SysSocket = 41, SysConnect = 42, SysClone = 56, SysFork = 57, SysVfork = 58,
        SysExecve = 59, SysKill = 62, SysPtrace = 101, SysSetuid = 105, SysChroot = 161, SysMount = 165, SysKeyctl = 250,
        SysOpenat = 257, SysUnshare = 272, SysSetns = 308, SysProcessVmReadv = 310, SysMemfdCreate = 319, SysBpf = 321,
        SysUserfaultfd = 323, SysIoUringSetup = 425, SysMmap = 9, SysMprotect = 10, SysMunmap = 11;
    private const long AtFdCwd = -100, ORdonly = 0, OWronly = 1, OCreat = 0x40, ODirectory = 0x10000;
    private const long AfInet = 2, SockStream = 1, PtraceAttach = 16, CloneNewUser = 0x10000000, SigChld = 17, SigKill = 9;
    private const long ProtRead = 1, ProtWrite = 2, ProtExec = 4, MapPrivate = 2, MapAnonymous = 0x20, PageBytes = 4096;

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, long a1, long a2, long a3, long a4, long a5, long a6);

    [LibraryImport("libc", EntryPoint = "_exit")]
    private static partial void ExitNow(int status);

    public const string NamespacesPhase = "namespaces";
    public const string SeccompPhase = "seccomp";

    /// <param name="engine">What the worker's engine was granted: the probes for what it was not granted run too.</param>
    public static List<WireProbe> Run(string phase, int loopbackPort, EngineSyscalls engine)
    {
        bool afterSeccomp = phase == SeccompPhase;
        var probes = new List<WireProbe>
        {
            OpenProbe(phase, "read /etc/passwd", "/etc/passwd", ORdonly),
            OpenProbe(phase, "list /home", "/home", ORdonly | ODirectory),
            OpenProbe(phase, "read the host's /tmp", "/tmp", ORdonly | ODirectory),
            OpenProbe(phase, "write a file", "/warden-self-test", OWronly | OCreat),
            OpenProbe(phase, "write a file in /proc/self", "/proc/self/warden-self-test", OWronly | OCreat),
            ConnectProbe(phase, loopbackPort),
            // The worker is PID 1 and alone in its PID namespace: its parent is outside, unreachable.
            Probe(phase, "ptrace a process", Syscall(SysPtrace, PtraceAttach, 1, 0, 0, 0, 0)),
            WithPath("/dev", p => Probe(phase, "mount a tmpfs", WithPath("tmpfs", t => Syscall(SysMount, t, p, t, 0, 0, 0)))),
            WithPath("/", p => Probe(phase, "chroot", Syscall(SysChroot, p, 0, 0, 0, 0, 0))),
            Probe(phase, "setuid(0)", Syscall(SysSetuid, 0, 0, 0, 0, 0, 0)),
        };
        if (afterSeccomp)
        {
            probes.Add(ExecProbe(phase));
            probes.Add(ForkProbe(phase, "fork", () => Syscall(SysFork, 0, 0, 0, 0, 0, 0)));
            probes.Add(ForkProbe(phase, "vfork", () => Syscall(SysVfork, 0, 0, 0, 0, 0, 0)));
            probes.Add(ForkProbe(phase, "clone a process", () => Syscall(SysClone, SigChld, 0, 0, 0, 0, 0)));
            probes.Add(Probe(phase, "signal another process", Syscall(SysKill, -1, SigKill, 0, 0, 0, 0)));
            probes.Add(Probe(phase, "unshare a user namespace", Syscall(SysUnshare, CloneNewUser, 0, 0, 0, 0, 0)));
            probes.Add(Probe(phase, "setns", Syscall(SysSetns, 0, 0, 0, 0, 0, 0)));
            probes.Add(Probe(phase, "process_vm_readv", Syscall(SysProcessVmReadv, 1, 0, 0, 0, 0, 0)));
            probes.Add(Probe(phase, "bpf", Syscall(SysBpf, 0, 0, 0, 0, 0, 0)));
            probes.Add(Probe(phase, "io_uring_setup", Syscall(SysIoUringSetup, 1, 0, 0, 0, 0, 0)));
            probes.Add(Probe(phase, "userfaultfd", Syscall(SysUserfaultfd, 0, 0, 0, 0, 0, 0)));
            probes.Add(Probe(phase, "keyctl", Syscall(SysKeyctl, 0, 0, 0, 0, 0, 0)));
            probes.Add(WithPath("x", p => Probe(phase, "memfd_create", Syscall(SysMemfdCreate, p, 0, 0, 0, 0, 0))));
            if (!engine.HasFlag(EngineSyscalls.ExecutableMemory))
            {
                // What shellcode needs first: a page it can write and then run.
                probes.Add(MapProbe(phase, "map executable memory", ProtRead | ProtExec, 0));
                probes.Add(MapProbe(phase, "make a page writable+executable", ProtRead | ProtWrite, ProtRead | ProtWrite | ProtExec));
            }
            probes.Add(ThreadFloodProbe(phase));
        }
        return probes;
    }

    /// <summary>
    /// Threads are allowed (the runtime and V8 need them), so their number is the cgroup's to bound:
    /// try to start 1000 that wait, count how many the kernel let exist, then let them all end.
    /// </summary>
    private static WireProbe ThreadFloodProbe(string phase)
    {
        const int Attempts = 1000;
        using var release = new ManualResetEventSlim(false);
        var threads = new List<Thread>();
        string? stoppedBy = null;
        try
        {
            for (int i = 0; i < Attempts; i++)
            {
                var thread = new Thread(() => release.Wait(), 64 * 1024) { IsBackground = true };
                thread.Start();
                threads.Add(thread);
            }
        }
        catch (Exception e) when (e is OutOfMemoryException or ThreadStartException or ThreadStateException)
        {
            stoppedBy = e.GetType().Name;
        }
        finally
        {
            release.Set();
            foreach (var thread in threads)
            {
                thread.Join();
            }
        }
        return stoppedBy is null
            ? new WireProbe($"start {Attempts} threads", phase, false, $"succeeded ({threads.Count})")
            : new WireProbe($"start {Attempts} threads", phase, true, $"stopped after {threads.Count} ({stoppedBy}: the task cap)");
    }

    private static WireProbe Probe(string phase, string name, long rc)
    {
        int errno = Marshal.GetLastPInvokeError();
        return rc < 0
            ? new WireProbe(name, phase, true, $"errno {errno} ({ErrnoName(errno)})")
            : new WireProbe(name, phase, false, $"succeeded ({rc})");
    }

    private static WireProbe OpenProbe(string phase, string name, string path, long flags) =>
        WithPath(path, p =>
        {
            long fd = Syscall(SysOpenat, AtFdCwd, p, flags, 0x180, 0, 0);
            var probe = Probe(phase, name, fd);
            if (fd >= 0)
            {
                Syscall(SysClose, fd, 0, 0, 0, 0, 0);
            }
            return probe;
        });

    /// <summary>A TCP connection to a listener the host runs on its own loopback.</summary>
    private static WireProbe ConnectProbe(string phase, int port)
    {
        long fd = Syscall(SysSocket, AfInet, SockStream, 0, 0, 0, 0);
        if (fd < 0)
        {
            return Probe(phase, "connect to the host's loopback", fd);
        }
        // struct sockaddr_in: family, port (network order), 127.0.0.1.
        byte* address = stackalloc byte[16];
        new Span<byte>(address, 16).Clear();
        *(ushort*)address = (ushort)AfInet;
        *(ushort*)(address + 2) = (ushort)IPAddress.HostToNetworkOrder((short)port);
        address[4] = 127;
        address[7] = 1;
        long rc = Syscall(SysConnect, fd, (long)address, 16, 0, 0, 0);
        var probe = Probe(phase, "connect to the host's loopback", rc);
        Syscall(SysClose, fd, 0, 0, 0, 0, 0);
        return probe;
    }

    private static WireProbe ExecProbe(string phase) =>
        WithPath("/bin/sh", path =>
        {
            long* argv = stackalloc long[2];
            argv[0] = path;
            argv[1] = 0;
            return Probe(phase, "execve /bin/sh", Syscall(SysExecve, path, (long)argv, 0, 0, 0, 0));
        });

    /// <summary>
    /// Maps an anonymous page with <paramref name="mapProt"/>; when <paramref name="protectTo"/> is not 0,
    /// the probe is then changing it to that. Whatever was made is unmapped again.
    /// </summary>
    private static WireProbe MapProbe(string phase, string name, long mapProt, long protectTo)
    {
        long page = Syscall(SysMmap, 0, PageBytes, mapProt, MapPrivate | MapAnonymous, -1, 0);
        if (page < 0 && protectTo != 0)
        {
            // The writable page itself must be allowed: a refusal here would pass the probe for the wrong reason.
            return new WireProbe(name, phase, false, $"could not map the writable page to change (errno {Marshal.GetLastPInvokeError()})");
        }
        if (protectTo == 0)
        {
            var mapped = Probe(phase, name, page);
            if (page >= 0)
            {
                Syscall(SysMunmap, page, PageBytes, 0, 0, 0, 0);
            }
            return mapped;
        }
        var probe = Probe(phase, name, Syscall(SysMprotect, page, PageBytes, protectTo, 0, 0, 0));
        Syscall(SysMunmap, page, PageBytes, 0, 0, 0, 0);
        return probe;
    }

    /// <summary>If a fork ever succeeded, the child must leave at once: it is a copy of the runtime with one thread.</summary>
    private static WireProbe ForkProbe(string phase, string name, Func<long> fork)
    {
        long rc = fork();
        if (rc == 0)
        {
            ExitNow(0);
        }
        return Probe(phase, name, rc);
    }

    private static T WithPath<T>(string text, Func<long, T> use)
    {
        nint p = Marshal.StringToCoTaskMemUTF8(text);
        try
        {
            return use(p);
        }
        finally
        {
            Marshal.FreeCoTaskMem(p);
        }
    }

    private static string ErrnoName(int errno) => errno switch
    {
        1 => "EPERM",
        2 => "ENOENT",
        9 => "EBADF",
        13 => "EACCES",
        14 => "EFAULT",
        22 => "EINVAL",
        30 => "EROFS",
        38 => "ENOSYS",
        97 => "EAFNOSUPPORT",
        101 => "ENETUNREACH",
        111 => "ECONNREFUSED",
        _ => "?",
    };
}
