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
    public void ATypeErrorInOneSectionDoesNotHideTheOthersProblems()
    {
        Environment.SetEnvironmentVariable("Warden__Sandbox__MaxWorkers", "many");
        Environment.SetEnvironmentVariable("Warden__Server__RetryAfterSeconds", "0");
        try
        {
            var e = Assert.Throws<ServerConfigurationException>(() => WardenServer.Build([], null, o => o.Urls = "http://127.0.0.1:0"));
            Assert.Contains(e.Errors, m => m.StartsWith("Warden:Sandbox:", StringComparison.Ordinal) && m.Contains("MaxWorkers"));
            Assert.Contains(e.Errors, m => m.StartsWith("RetryAfterSeconds (0)", StringComparison.Ordinal));
        }
        finally
        {
            Environment.SetEnvironmentVariable("Warden__Sandbox__MaxWorkers", null);
            Environment.SetEnvironmentVariable("Warden__Server__RetryAfterSeconds", null);
        }
    }

    [Fact]
    public void KestrelsOwnEndpointsAreHeldToTheLoopbackRuleToo()
    {
        // Found in review: Kestrel:Endpoints overrides Urls, and bound 0.0.0.0 without any key.
        Environment.SetEnvironmentVariable("Kestrel__Endpoints__Http__Url", "http://0.0.0.0:18081");
        try
        {
            var e = Assert.Throws<ServerConfigurationException>(() => WardenServer.Build([], null, o => o.Urls = "http://127.0.0.1:0"));
            Assert.Contains(e.Errors, m => m.StartsWith("Kestrel:Endpoints:Http:Url", StringComparison.Ordinal) && m.Contains("not a loopback address"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("Kestrel__Endpoints__Http__Url", null);
        }
        Assert.NotNull(new ServerOptions { Urls = "http://*:8080" }.UrlProblem("http://*:8080", "Urls"));
        Assert.NotNull(new ServerOptions().UrlProblem("http://+:8080", "Urls"));
        Assert.Null(new ServerOptions().UrlProblem("http://[::1]:8080", "Urls"));
    }

    [Fact]
    public async Task NotReadyUntilAWorkerHasReallyStarted()
    {
        // Found in review: /readyz said ready although no worker could start.
        var (app, client) = await ServerFixture.StartAsync(s => s.WorkerStartTimeout = TimeSpan.FromMilliseconds(5));
        try
        {
            await Task.Delay(1500);
            var ready = await client.GetAsync("/readyz");
            Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Equal(System.Net.HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
        }
        finally
        {
            client.Dispose();
            await app.StopAsync();
            await app.DisposeAsync();
        }
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
