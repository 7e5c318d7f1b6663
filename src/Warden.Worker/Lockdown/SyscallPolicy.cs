using static Warden.Worker.Lockdown.LibSeccomp;

namespace Warden.Worker.Lockdown;

/// <summary>One seccomp rule: allow (or answer with <see cref="Errno"/>) the named call when every argument check holds.</summary>
internal sealed record SyscallRule(string Name, ArgCompare[]? Arguments = null, int? Errno = null);

/// <summary>
/// The worker's system-call allowlist after warm-up (x86-64, .NET 10, glibc 2.36, ClearScript
/// 7.5.1.1, Wasmtime 50). Derived, not guessed: traced from a warm worker of each engine running that
/// engine's derivation workload, then each call removed once in errno mode, then soaked in kill mode —
/// tools/seccomp/README.md has the procedure and the last results; re-run it when .NET, glibc,
/// ClearScript or Wasmtime change. The runtime's calls are common; what only one engine needs is
/// granted by its <see cref="EngineSyscalls"/>.
/// Everything not listed kills the worker (SIGSYS), which the host logs as a security event. The
/// calls an attacker wants first are refused with EPERM instead, so that the lockdown self-test
/// can observe each refusal from inside a live worker.
/// </summary>
internal static class SyscallPolicy
{
    // clone(2) flags (x86-64 argument 0).
    private const ulong CloneVm = 0x100, CloneFs = 0x200, CloneFiles = 0x400, CloneSighand = 0x800, CloneThread = 0x10000;
    private const ulong CloneNewNs = 0x20000, CloneNewCgroup = 0x02000000, CloneNewUts = 0x04000000, CloneNewIpc = 0x08000000,
        CloneNewUser = 0x10000000, CloneNewPid = 0x20000000, CloneNewNet = 0x40000000;

    // open(2) flags that write or create.
    private const ulong OWronly = 0x1, ORdwr = 0x2, OCreat = 0x40, OTrunc = 0x200;

    private const ulong Tcgets = 0x5401;
    private const ulong SchedOther = 0, SchedResetOnFork = 0x40000000;
    private const ulong MembarrierQuery = 0, MembarrierPrivateExpedited = 8, MembarrierRegisterPrivateExpedited = 16,
        MembarrierPrivateExpeditedSyncCore = 32, MembarrierRegisterPrivateExpeditedSyncCore = 64;
    private const ulong FGetFd = 1, FSetFd = 2, FGetFl = 3, FSetFl = 4, FDupFdCloexec = 1030;

    // prctl(2) options the runtime uses after warm-up (names threads, names anonymous mappings).
    private const ulong PrSetName = 15, PrGetName = 16, PrSetVma = 0x53564d41;

    // mmap(2)/mprotect(2) protection bits (argument 2).
    private const ulong ProtWrite = 0x2, ProtExec = 0x4;

    /// <summary>Plain allows: the runtime (GC, threads, timers, the protocol pipes) and V8 (JIT memory, isolates).</summary>
    public static readonly string[] Allowed =
    [
        // I/O on descriptors the worker already holds (protocol pipes, /proc/self/statm) and the
        // read-only opens below.
        // writev: glibc's fatal-error messages (malloc corruption, fortify) go out through it.
        "read", "write", "writev", "pread64", "close", "lseek", "fstat", "newfstatat", "readlink", "pipe2",
        // Memory: the GC, V8's heaps, Wasmtime's linear memories, glibc's malloc. (mmap and mprotect
        // are in Rules: whether they may make executable memory depends on the engine.)
        "munmap", "mremap", "madvise", "brk",
        // Threads (new ones start after lockdown: V8 platform workers, the thread pool) and their
        // synchronisation; a missing one of these shows up as OutOfMemoryException from Thread.Start.
        "futex", "set_robust_list", "rseq", "sigaltstack", "sched_yield",
        "sched_getaffinity", "sched_setaffinity", "sched_get_priority_max", "sched_get_priority_min",
        "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "restart_syscall",
        "getpid", "gettid", "getuid", "geteuid", "getgid", "getegid",
        // Time and resource accounting (the watchdog's CPU clocks, usage reports, GC memory sizing).
        "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "getrusage",
        "getrandom", "sysinfo",
        "exit", "exit_group",
    ];

    /// <summary>The calls an attacker reaches for first, refused with EPERM.</summary>
    public static readonly string[] Refused =
    [
        "execve", "execveat", "fork", "vfork", "open", "creat", "openat2",
        "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4", "sendto", "sendmsg", "recvfrom", "recvmsg",
        "tkill", "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_open", "pidfd_getfd",
        "mount", "umount2", "pivot_root", "chroot", "unshare", "setns",
        "fsopen", "fsmount", "fsconfig", "move_mount", "open_tree", "mount_setattr",
        "bpf", "perf_event_open", "io_uring_setup", "io_uring_enter", "io_uring_register", "userfaultfd",
        "keyctl", "add_key", "request_key", "memfd_create", "memfd_secret",
        "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
        "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups", "capset",
        "open_by_handle_at", "name_to_handle_at", "personality", "seccomp", "mknod", "mknodat",
        "unlink", "unlinkat", "rename", "renameat", "renameat2", "mkdir", "mkdirat", "rmdir",
        "chmod", "fchmod", "fchmodat", "chown", "fchown", "fchownat", "truncate", "ftruncate", "link", "linkat", "symlink", "symlinkat",
    ];

    public static IEnumerable<SyscallRule> Rules(int selfPid, EngineSyscalls engine)
    {
        foreach (var name in Allowed)
        {
            yield return new SyscallRule(name);
        }
        foreach (var name in Refused)
        {
            yield return new SyscallRule(name, Errno: Lockdown.Errno.EPERM);
        }

        // Threads only: a clone that shares memory, files and signal handlers and makes a thread.
        // Namespace flags must be clear. (No second process can exist: fork/vfork are refused.)
        const ulong threadFlags = CloneVm | CloneFs | CloneFiles | CloneSighand | CloneThread;
        const ulong namespaceFlags = CloneNewNs | CloneNewCgroup | CloneNewUts | CloneNewIpc | CloneNewUser | CloneNewPid | CloneNewNet;
        yield return new SyscallRule("clone", [new(0, Compare.MaskedEqual, threadFlags | namespaceFlags, threadFlags)]);
        // A new process (no CLONE_THREAD) is refused visibly; other odd flag mixes kill the worker.
        yield return new SyscallRule("clone", [new(0, Compare.MaskedEqual, CloneThread, 0)], Errno: Lockdown.Errno.EPERM);
        // clone3 passes its flags in memory, which seccomp cannot read. ENOSYS (not EPERM) makes
        // glibc fall back to clone(2), whose flags the rule above checks; with EPERM thread
        // creation fails outright.
        yield return new SyscallRule("clone3", Errno: Lockdown.Errno.ENOSYS);

        // Signals only to this process: the runtime suspends its own threads for GC with tgkill.
        yield return new SyscallRule("tgkill", [new(0, Compare.Equal, (ulong)selfPid)]);
        yield return new SyscallRule("kill", [new(0, Compare.Equal, (ulong)selfPid)]);
        yield return new SyscallRule("tgkill", [new(0, Compare.NotEqual, (ulong)selfPid)], Errno: Lockdown.Errno.EPERM);
        yield return new SyscallRule("kill", [new(0, Compare.NotEqual, (ulong)selfPid)], Errno: Lockdown.Errno.EPERM);

        // Opens are needed read-only inside the worker's own mount namespace (procfs for the runtime;
        // refusing them outright makes V8 seed its RNG and hash seeds from the clock). Anything that
        // writes or creates is refused, on top of the read-only mounts.
        // SECURITY: an engine that opens nothing after lockdown (QuickJS: traced, no open at all) gets
        // none, not even read-only: procfs and the runtime's files stay out of reach of its worker.
        if (engine.HasFlag(EngineSyscalls.ReadOnlyOpens))
        {
            const ulong writeFlags = OWronly | ORdwr | OCreat | OTrunc;
            yield return new SyscallRule("openat", [new(2, Compare.MaskedEqual, writeFlags, 0)]);
            foreach (ulong flag in new[] { OWronly, ORdwr, OCreat, OTrunc })
            {
                yield return new SyscallRule("openat", [new(2, Compare.MaskedEqual, flag, flag)], Errno: Lockdown.Errno.EPERM);
            }
        }
        else
        {
            yield return new SyscallRule("openat", Errno: Lockdown.Errno.EPERM);
        }

        // Executable memory. V8's JIT maps and flips code pages while scripts run. An engine without a
        // JIT after lockdown (QuickJS: Wasmtime compiled the module and its trampolines before it) gets
        // no new executable mapping and no page both writable and executable. SECURITY: mprotect to
        // read+execute stays allowed for every engine: the .NET runtime's own JIT commits code pages
        // that way after lockdown (traced: all in its executable-memory reservation), and a seccomp
        // rule cannot tell those pages from others. Refused with EPERM so the self-test can observe it.
        if (engine.HasFlag(EngineSyscalls.ExecutableMemory))
        {
            yield return new SyscallRule("mmap");
            yield return new SyscallRule("mprotect");
        }
        else
        {
            yield return new SyscallRule("mmap", [new(2, Compare.MaskedEqual, ProtExec, 0)]);
            yield return new SyscallRule("mmap", [new(2, Compare.MaskedEqual, ProtExec, ProtExec)], Errno: Lockdown.Errno.EPERM);
            yield return new SyscallRule("mprotect", [new(2, Compare.MaskedEqual, ProtExec, 0)]);
            yield return new SyscallRule("mprotect", [new(2, Compare.MaskedEqual, ProtWrite | ProtExec, ProtExec)]);
            yield return new SyscallRule("mprotect", [new(2, Compare.MaskedEqual, ProtWrite | ProtExec, ProtWrite | ProtExec)], Errno: Lockdown.Errno.EPERM);
        }

        // Calls that take a pid (or a global scope) allowed only for this process: in BestEffort
        // mode without a PID namespace, other workers and the host would otherwise be in reach.
        yield return new SyscallRule("prlimit64", [new(0, Compare.Equal, 0)]);
        // Thread priorities within the normal policy only (real-time policies escape the CPU quota).
        yield return new SyscallRule("sched_setscheduler", [new(1, Compare.MaskedEqual, ~SchedResetOnFork & 0xffffffffUL, SchedOther)]);
        foreach (ulong command in new[] { MembarrierQuery, MembarrierPrivateExpedited, MembarrierRegisterPrivateExpedited,
            MembarrierPrivateExpeditedSyncCore, MembarrierRegisterPrivateExpeditedSyncCore })
        {
            yield return new SyscallRule("membarrier", [new(0, Compare.Equal, command)]);
        }
        foreach (ulong command in new[] { FGetFd, FSetFd, FGetFl, FSetFl, FDupFdCloexec })
        {
            yield return new SyscallRule("fcntl", [new(1, Compare.Equal, command)]);
        }

        // isatty() on the protocol pipes and procfs files: answered as the kernel would answer for
        // them (not a terminal) without letting any other ioctl reach a driver.
        yield return new SyscallRule("ioctl", [new(1, Compare.Equal, Tcgets)], Errno: Lockdown.Errno.ENOTTY);

        foreach (ulong option in new[] { PrSetName, PrGetName, PrSetVma })
        {
            yield return new SyscallRule("prctl", [new(0, Compare.Equal, option)]);
        }
    }
}
