namespace Warden;

/// <summary>One OS isolation layer on this machine: whether workers get it, and why not when they do not.</summary>
/// <param name="Name">The layer: <c>platform</c>, <c>namespaces</c>, <c>unprivileged-uid</c>, <c>seccomp</c>, <c>cgroup</c>.</param>
/// <param name="Active">True when every worker gets this layer.</param>
/// <param name="Detail">What is in place, or what is missing.</param>
/// <param name="Remedy">How to enable the layer when it is missing; null when active.</param>
public sealed record IsolationLayer(string Name, bool Active, string Detail, string? Remedy);

/// <summary>What the OS gives workers on this machine (see <see cref="Sandbox.ProbeIsolation"/>).</summary>
public sealed record IsolationReport(IReadOnlyList<IsolationLayer> Layers)
{
    /// <summary>True when every layer is active.</summary>
    public bool AllActive => Layers.All(l => l.Active);

    /// <summary>The layers that are not active.</summary>
    public IEnumerable<IsolationLayer> Missing => Layers.Where(l => !l.Active);
}

/// <summary>
/// Thrown when <see cref="SandboxOptions.OsIsolation"/> is <see cref="OsIsolationMode.Required"/> and a
/// layer is missing. The message names each missing layer and how to enable it.
/// </summary>
public sealed class IsolationUnavailableException(IsolationReport report)
    : InvalidOperationException("Warden will not run untrusted code without its OS isolation layers. Missing:" + Environment.NewLine
        + string.Join(Environment.NewLine, report.Missing.Select(l => $"  - {l.Name}: {l.Detail}" + (l.Remedy is null ? "" : $"{Environment.NewLine}    to enable: {l.Remedy}")))
        + Environment.NewLine + "To run with weaker isolation anyway, opt in explicitly (SandboxOptions.OsIsolation = BestEffort or Disabled; warden --isolation best-effort|none).")
{
    /// <summary>Every layer, active or not.</summary>
    public IsolationReport Report { get; } = report;
}
