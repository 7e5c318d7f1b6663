namespace Warden;

/// <summary>One forbidden operation attempted from inside a live worker.</summary>
/// <param name="Name">What was attempted (e.g. "read /etc/passwd", "execve /bin/sh").</param>
/// <param name="Phase"><c>namespaces</c>: before the worker installed seccomp (namespaces, uid and mounts alone);
/// <c>seccomp</c>: after, with every layer on.</param>
/// <param name="Refused">True when the kernel refused it.</param>
/// <param name="Detail">The errno the kernel answered with, or what succeeded.</param>
public sealed record LockdownProbe(string Name, string Phase, bool Refused, string Detail);

/// <summary>What <see cref="Sandbox.RunLockdownSelfTestAsync"/> found.</summary>
public sealed record LockdownSelfTestReport
{
    /// <summary>The layers as probed on this machine.</summary>
    public required IsolationReport Layers { get; init; }

    /// <summary>Every attempt, in order; empty when no worker could be started.</summary>
    public required IReadOnlyList<LockdownProbe> Probes { get; init; }

    /// <summary>Whether the worker reported its seccomp filter installed.</summary>
    public required bool SeccompInstalled { get; init; }

    /// <summary>How long the worker took to lock itself down (rlimits and seccomp), in ms.</summary>
    public double LockdownMs { get; init; }

    /// <summary>System calls the worker's filter allows (argument-checked ones included).</summary>
    public int AllowedSyscalls { get; init; }

    /// <summary>Connections the host's loopback listener accepted from the worker (must be 0).</summary>
    public required int ConnectionsAccepted { get; init; }

    /// <summary>Statuses of the scripts run in fresh isolates in the same worker after lockdown (all must be ok).</summary>
    public required IReadOnlyList<OutcomeStatus> ScriptRuns { get; init; }

    /// <summary>Why the self-test could not run, if it could not.</summary>
    public string? Error { get; init; }

    /// <summary>True when every layer is active, every attempt was refused, nothing connected, and JavaScript still ran.</summary>
    public bool Passed => Error is null && Layers.AllActive && SeccompInstalled && Probes.Count > 0 && Probes.All(p => p.Refused)
        && ConnectionsAccepted == 0 && ScriptRuns.Count > 0 && ScriptRuns.All(s => s == OutcomeStatus.Ok);
}
