namespace Warden;

/// <summary>How strictly a <see cref="Sandbox"/> insists on the OS isolation layers around its workers.</summary>
public enum OsIsolationMode
{
    /// <summary>
    /// Every layer (user/mount/PID/network/IPC/UTS namespaces, an unprivileged uid, the seccomp
    /// allowlist, cgroup memory/tasks/CPU caps) must be active; otherwise the sandbox refuses to start
    /// with <see cref="IsolationUnavailableException"/> naming the missing layer. The default.
    /// </summary>
    Required = 0,

    /// <summary>Use every layer this machine offers and log a warning naming each one that is missing.</summary>
    BestEffort = 1,

    /// <summary>
    /// No OS layer: workers run as the host's user with its files and network; only the engine,
    /// the in-worker watchdog and the host's deadline stand between a script and the machine.
    /// For development on machines without the layers, never for untrusted code in production.
    /// </summary>
    Disabled = 2,
}
