using System.Diagnostics;
using Warden.Server;

namespace Warden.Tests.Server;

/// <summary>Start-up validation, loopback-only binding and graceful shutdown.</summary>
[Collection("sandbox")]
public sealed class ServerLifecycleTests
{
    [Fact]
    public void InvalidConfigurationIsRefusedWithEveryProblemListed()
    {
        var e = Assert.Throws<ServerConfigurationException>(() => WardenServer.Build([],
            s => s.MaxWorkers = 0,
            o => { o.Urls = "http://0.0.0.0:8080"; o.MaxRequestBodyBytes = 10; }));
        Assert.Contains(e.Errors, m => m.StartsWith("MaxWorkers", StringComparison.Ordinal));
        Assert.Contains(e.Errors, m => m.StartsWith("Urls", StringComparison.Ordinal) && m.Contains("not a loopback address"));
        Assert.Contains(e.Errors, m => m.StartsWith("MaxRequestBodyBytes", StringComparison.Ordinal));
    }

    [Fact]
    public void ConfigurationComesFromTheUsualSources()
    {
        Environment.SetEnvironmentVariable("Warden__Server__MaxRequestBodyBytes", "5");
        try
        {
            var e = Assert.Throws<ServerConfigurationException>(() => WardenServer.Build([], null, o => o.Urls = "http://127.0.0.1:0"));
            Assert.Contains(e.Errors, m => m.StartsWith("MaxRequestBodyBytes (5)", StringComparison.Ordinal));
        }
        finally
        {
            Environment.SetEnvironmentVariable("Warden__Server__MaxRequestBodyBytes", null);
        }
    }

    [Fact]
    public async Task ShutdownDrainsInFlightExecutionsThenStops()
    {
        var (app, client) = await ServerFixture.StartAsync(s => s.MaxWorkers = 1);
        await using var _ = app;
        using var __ = client;
        var inFlight = client.PostAsync("/v1/run", ServerFixture.Json("""{ "code": "new Promise(r => setTimeout(() => r('done'), 1500))" }"""));
        await Task.Delay(400);
        var clock = Stopwatch.StartNew();
        await app.StopAsync();
        var response = await inFlight;
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"result\":\"done\"", await response.Content.ReadAsStringAsync());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"shutdown took {clock.Elapsed}");
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetAsync("/healthz"));
    }
}
