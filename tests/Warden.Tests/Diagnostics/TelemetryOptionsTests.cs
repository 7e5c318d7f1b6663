using Warden.Server;

namespace Warden.Tests.Diagnostics;

/// <summary><c>Warden:Server:Telemetry</c>: nonsense is refused at start with the other problems; nothing set means no export.</summary>
public sealed class TelemetryOptionsTests
{
    [Fact]
    public void ABadEndpointOrProtocolIsRefusedAtStart()
    {
        var refused = Assert.Throws<ServerConfigurationException>(() => WardenServer.Build([], configureServer: o =>
        {
            o.Telemetry.OtlpEndpoint = "collector:4317";
            o.Telemetry.OtlpProtocol = "http/json";
        }));
        Assert.Contains(refused.Errors, e => e.StartsWith("Telemetry:OtlpEndpoint ('collector:4317') must be an absolute http:// or https:// address", StringComparison.Ordinal));
        Assert.Contains(refused.Errors, e => e == "Telemetry:OtlpProtocol ('http/json') must be grpc or http/protobuf.");
    }

    [Fact]
    public void TheConfiguredEndpointWinsOverTheStandardVariable()
    {
        Assert.Equal("http://collector:4318", new TelemetryOptions { OtlpEndpoint = "http://collector:4318" }.EffectiveEndpoint());
        Assert.Empty(new TelemetryOptions { OtlpEndpoint = "https://collector:4317", OtlpProtocol = "grpc" }.Validate());
    }
}
