using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Warden.Diagnostics;

namespace Warden.Server;

/// <summary>
/// OTLP export when configured (<see cref="TelemetryOptions"/>): the Warden meter and activity source, and ASP.NET
/// Core's own (a <c>warden.execute</c> span is then the child of its request's span). Nothing is added when no
/// endpoint is configured: the SDK costs nothing then.
/// </summary>
internal static class TelemetryExport
{
    public static void AddIfConfigured(IServiceCollection services, TelemetryOptions options)
    {
        if (options.EffectiveEndpoint() is not { } endpoint)
        {
            return;
        }
        var protocol = options.EffectiveProtocol() == "http/protobuf" ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
        // The base address from configuration, as the standard variable means it: HTTP/protobuf gets each signal's
        // path appended (the SDK does that only for the variable, not for an address set in code).
        bool fromConfiguration = !string.IsNullOrWhiteSpace(options.OtlpEndpoint);
        void Configure(OtlpExporterOptions exporter, string signalPath)
        {
            exporter.Protocol = protocol;
            if (fromConfiguration)
            {
                exporter.Endpoint = protocol == OtlpExportProtocol.HttpProtobuf
                    ? new Uri(endpoint.TrimEnd('/') + signalPath)
                    : new Uri(endpoint);
            }
        }
        services.AddOpenTelemetry()
            .ConfigureResource(resource =>
            {
                if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME")))
                {
                    resource.AddService("warden", serviceVersion: WardenTelemetry.Version);
                }
            })
            .WithTracing(tracing => tracing
                .AddSource(WardenTelemetry.ActivitySourceName)
                .AddAspNetCoreInstrumentation()
                .AddOtlpExporter(exporter => Configure(exporter, "/v1/traces")))
            .WithMetrics(metrics => metrics
                .AddMeter(WardenTelemetry.MeterName)
                .AddAspNetCoreInstrumentation()
                .AddOtlpExporter(exporter => Configure(exporter, "/v1/metrics")));
    }
}
