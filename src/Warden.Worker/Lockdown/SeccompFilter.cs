using System.Runtime.InteropServices;
using Warden.Worker.Lockdown;
using static Warden.Worker.Lockdown.LibSeccomp;

namespace Warden.Worker.Lockdown;

/// <summary>How an unlisted system call is answered.</summary>
internal enum SeccompDefault
{
    /// <summary>Production: the whole worker dies with SIGSYS (the host logs a security event).</summary>
    Kill,
    /// <summary>Allowlist derivation: refused with EPERM, so a missing call shows up as a failing feature.</summary>
    Errno,
    /// <summary>Allowlist derivation: no filter at all, only no_new_privs (the marker a trace is cut at).</summary>
    Trace,
}

/// <summary>
/// Compiles <see cref="SyscallPolicy"/> with libseccomp and installs it on every thread of the
/// worker (TSYNC: ~10 threads exist at lockdown, and a filter on one thread only would leave the
/// others, V8's helpers among them, unfiltered). no_new_privs first, which also makes the filter
/// installable without privileges.
/// </summary>
internal static partial class SeccompFilter
{
    private const int PrSetNoNewPrivs = 38;

    [LibraryImport("libc", EntryPoint = "prctl", SetLastError = true)]
    private static partial int Prctl(int option, nuint a2, nuint a3, nuint a4, nuint a5);

    /// <summary>The path a worker in trace mode looks up once, right after no_new_privs.</summary>
    public const string TraceMarkerPath = "/warden-seccomp-lockdown-point";

    [LibraryImport("libc", EntryPoint = "access", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Access(string path, int mode);

    /// <summary>Installs the filter; returns the number of distinct system calls it allows, or throws with the reason.</summary>
    public static int Install(SeccompDefault mode, IReadOnlySet<string> omit, int selfPid, EngineSyscalls engine)
    {
        if (Prctl(PrSetNoNewPrivs, 1, 0, 0, 0) != 0)
        {
            throw new InvalidOperationException($"prctl(PR_SET_NO_NEW_PRIVS) failed: errno {Marshal.GetLastPInvokeError()}");
        }
        if (mode == SeccompDefault.Trace)
        {
            // The point a trace is cut at: a call no worker makes otherwise (setpriv and bubblewrap
            // set no_new_privs too, so that alone would not mark this process).
            _ = Access(TraceMarkerPath, 0);
            return 0;
        }
        var (context, allowed) = Build(mode, omit, selfPid, engine);
        try
        {
            Check(Load(context), "load the filter");
            return allowed;
        }
        finally
        {
            Release(context);
        }
    }

    /// <summary>Compiles the policy into a libseccomp context (not loaded); the caller releases it.</summary>
    internal static (nint Context, int Allowed) Build(SeccompDefault mode, IReadOnlySet<string> omit, int selfPid, EngineSyscalls engine)
    {
        uint defaultAction = mode == SeccompDefault.Kill ? ActKillProcess : ActErrno(Errno.EPERM);
        nint context = Init(defaultAction);
        if (context == 0)
        {
            throw new InvalidOperationException("seccomp_init failed");
        }
        try
        {
            Check(SetAttribute(context, FilterAttribute.ThreadSync, 1), "enable thread sync");
            Check(SetAttribute(context, FilterAttribute.NoNewPrivs, 1), "require no_new_privs");
            // A syscall made through another ABI (i386 via int 0x80, x32) must not slip past a filter
            // written for x86-64 numbers: the whole process dies (libseccomp's default kills only the thread).
            Check(SetAttribute(context, FilterAttribute.BadArchAction, ActKillProcess), "kill on a foreign architecture");
            var allowed = new HashSet<string>(StringComparer.Ordinal);
            foreach (var rule in SyscallPolicy.Rules(selfPid, engine))
            {
                if (omit.Contains(rule.Name))
                {
                    continue;
                }
                int number = ResolveName(rule.Name);
                if (number < 0)
                {
                    continue; // Not a syscall on this architecture.
                }
                uint action = rule.Errno is int errno ? ActErrno(errno) : ActAllow;
                if (action == defaultAction)
                {
                    continue; // libseccomp refuses a rule that repeats the default (errno mode only).
                }
                var args = rule.Arguments;
                Check(AddRule(context, action, number, (uint)(args?.Length ?? 0), args), $"add rule for {rule.Name}");
                if (rule.Errno is null)
                {
                    allowed.Add(rule.Name);
                }
            }
            return (context, allowed.Count);
        }
        catch
        {
            Release(context);
            throw;
        }
    }

    private static void Check(int rc, string what)
    {
        if (rc != 0)
        {
            throw new InvalidOperationException($"seccomp: could not {what} (rc {rc})");
        }
    }
}
