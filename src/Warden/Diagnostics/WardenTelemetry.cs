using System.Reflection;

namespace Warden.Diagnostics;

/// <summary>
/// The names under which Warden publishes its telemetry: one <see cref="System.Diagnostics.Metrics.Meter"/> and one
/// <see cref="System.Diagnostics.ActivitySource"/>, both named <c>Warden</c>. With OpenTelemetry:
/// <c>.WithMetrics(m =&gt; m.AddMeter(WardenTelemetry.MeterName))</c> and
/// <c>.WithTracing(t =&gt; t.AddSource(WardenTelemetry.ActivitySourceName))</c>. Every instrument and attribute is
/// listed in docs/telemetry.md. Nothing published carries script text, inputs, outputs, console lines or a clear
/// isolation key.
/// </summary>
public static class WardenTelemetry
{
    /// <summary>The name of the meter every <see cref="Sandbox"/> records into (each sandbox has its own instance, whose <c>Scope</c> is the sandbox).</summary>
    public const string MeterName = "Warden";

    /// <summary>The name of the activity source of executions (one <c>warden.execute</c> activity per execution).</summary>
    public const string ActivitySourceName = "Warden";

    /// <summary>The version the meter and activity source carry: the library's informational version.</summary>
    public static string Version { get; } =
        typeof(WardenTelemetry).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(WardenTelemetry).Assembly.GetName().Version?.ToString() ?? "0.0.0";
}
