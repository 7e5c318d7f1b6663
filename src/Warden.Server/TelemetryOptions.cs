namespace Warden.Server;

/// <summary>
/// OpenTelemetry export of the service (configuration section <c>Warden:Server:Telemetry</c>). Off unless an OTLP
/// endpoint is given here or in the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> environment variable. The other
/// standard <c>OTEL_*</c> variables (headers, service name, resource attributes, export interval) apply as the
/// OpenTelemetry SDK reads them. <c>/metrics</c> (Prometheus text) is served either way.
/// </summary>
public sealed class TelemetryOptions
{
    /// <summary>
    /// The collector's base address, e.g. <c>http://collector:4317</c> (gRPC) or <c>http://collector:4318</c>
    /// (HTTP/protobuf; <c>/v1/traces</c> and <c>/v1/metrics</c> are appended). Null: <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>
    /// if set, else no export.
    /// </summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary><c>grpc</c> or <c>http/protobuf</c>. Null: <c>OTEL_EXPORTER_OTLP_PROTOCOL</c> if set, else gRPC (the SDK's default).</summary>
    public string? OtlpProtocol { get; set; }

    /// <summary>The OTLP endpoint the service exports to, or null when export is off.</summary>
    internal string? EffectiveEndpoint() =>
        string.IsNullOrWhiteSpace(OtlpEndpoint) ? NullIfBlank(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT")) : OtlpEndpoint;

    internal string? EffectiveProtocol() =>
        string.IsNullOrWhiteSpace(OtlpProtocol) ? NullIfBlank(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_PROTOCOL")) : OtlpProtocol;

    /// <summary>One message per problem (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!string.IsNullOrWhiteSpace(OtlpEndpoint)
            && (!Uri.TryCreate(OtlpEndpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
        {
            errors.Add($"Telemetry:OtlpEndpoint ('{WardenServer.WithoutUserInfo(OtlpEndpoint)}') must be an absolute http:// or https:// address.");
        }
        if (!string.IsNullOrWhiteSpace(OtlpProtocol) && OtlpProtocol is not ("grpc" or "http/protobuf"))
        {
            errors.Add($"Telemetry:OtlpProtocol ('{OtlpProtocol}') must be grpc or http/protobuf.");
        }
        return errors;
    }

    private static string? NullIfBlank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
