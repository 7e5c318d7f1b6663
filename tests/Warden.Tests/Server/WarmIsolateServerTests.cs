using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Warden.Server;

namespace Warden.Tests.Server;

/// <summary>
/// The warm-isolate mode in <c>warden serve</c>: chosen by configuration (<c>Warden:Sandbox:IsolationUnit</c>) or per
/// API key, never by the request; counted in <c>/metrics</c>; nonsense in its settings refused at start.
/// </summary>
[Collection("sandbox")]
public sealed class WarmIsolateServerTests
{
    private static long Metric(string text, string name) =>
        long.Parse(Regex.Match(text, $"(?m)^{name} ([0-9]+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

    private static async Task<(long Made, long Reuses)> WarmCountsAsync(HttpClient client)
    {
        string text = await client.GetStringAsync("/metrics");
        return (Metric(text, "warden_warden_isolates_warm_created"), Metric(text, "warden_warden_isolates_warm_reused"));
    }

    [Fact]
    public async Task TheConfigurationKeyTurnsTheWarmModeOnForTheWholeService()
    {
        var (app, client) = await ServerFixture.StartAsync(s => s.MaxWorkers = 2);
        await using var running = app;
        // The same app built from configuration, as `Warden__Sandbox__IsolationUnit=Context warden serve` would.
        Environment.SetEnvironmentVariable("Warden__Sandbox__IsolationUnit", "Context");
        WebApplication warmApp;
        try
        {
            warmApp = WardenServer.Build([], s => { s.MaxWorkers = 2; s.SpareWorkers = 1; }, o => o.Urls = "http://127.0.0.1:0");
        }
        finally
        {
            Environment.SetEnvironmentVariable("Warden__Sandbox__IsolationUnit", null);
        }
        await using var runningWarm = warmApp;
        await warmApp.StartAsync();
        using var warmClient = new HttpClient { BaseAddress = new Uri(WardenServer.ListeningAddresses(warmApp)[0]) };
        var fixture = new ServerFixture();
        for (int i = 0; i < 4; i++)
        {
            var (status, body, _) = await fixture.PostAsync("""{ "code": "globalThis.n = (globalThis.n ?? 0) + 1", "isolationKey": "k" }""", warmClient);
            Assert.Equal(200, status);
            Assert.Equal(1, body.GetProperty("result").GetInt32());   // a fresh context each time
            var (freshStatus, _, _) = await fixture.PostAsync("""{ "code": "1", "isolationKey": "k" }""", client);
            Assert.Equal(200, freshStatus);
        }
        Assert.Equal((1, 3), await WarmCountsAsync(warmClient));
        Assert.Equal((0, 0), await WarmCountsAsync(client));
        await warmApp.StopAsync();
        await app.StopAsync();
    }

    [Fact]
    public async Task AnApiKeyCanHaveTheWarmModeAndOthersKeepFreshIsolates()
    {
        var warm = ApiKeyAuthenticator.NewKey();
        var fresh = ApiKeyAuthenticator.NewKey();
        var (app, client) = await ServerFixture.StartAsync(s => s.MaxWorkers = 2, o => o.ApiKeys =
        [
            new ApiKeyOptions { Name = "warm", Sha256 = warm.Sha256, IsolationUnit = IsolationUnit.Context },
            new ApiKeyOptions { Name = "fresh", Sha256 = fresh.Sha256 },
        ]);
        await using var running = app;
        async Task<string> RunAsync(string token, string json)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/run") { Content = ServerFixture.Json(json) };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            var response = await client.SendAsync(request);
            return ((int)response.StatusCode) + " " + await response.Content.ReadAsStringAsync();
        }
        for (int i = 0; i < 3; i++)
        {
            Assert.StartsWith("200 ", await RunAsync(warm.Token, """{ "code": "typeof globalThis.leak" }"""));
            Assert.StartsWith("200 ", await RunAsync(fresh.Token, """{ "code": "globalThis.leak = 1" }"""));
        }
        Assert.Equal((1, 2), await WarmCountsAsync(client));
        // The request cannot choose: an isolationUnit field is an unknown member, refused like any other.
        string asked = await RunAsync(fresh.Token, """{ "code": "1", "isolationUnit": "Context" }""");
        Assert.StartsWith("400 ", asked);
        Assert.Contains("isolationUnit", asked);
        Assert.Equal((1, 2), await WarmCountsAsync(client));
        await app.StopAsync();
    }

    [Fact]
    public void NonsenseInTheWarmModesSettingsIsRefusedAtStart()
    {
        Environment.SetEnvironmentVariable("Warden__Sandbox__IsolationUnit", "Thread");
        try
        {
            var e = Assert.Throws<ServerConfigurationException>(() => WardenServer.Build([], null, o =>
            {
                o.Urls = "http://127.0.0.1:0";
                o.ApiKeys = [new ApiKeyOptions { Name = "k", Sha256 = new string('a', 64), IsolationUnit = (IsolationUnit)7 }];
            }));
            Assert.Contains(e.Errors, m => m.Contains("IsolationUnit", StringComparison.Ordinal) && m.StartsWith("Warden:Sandbox:", StringComparison.Ordinal));
            Assert.Contains(e.Errors, m => m.StartsWith("ApiKeys[0].IsolationUnit (7)", StringComparison.Ordinal));
        }
        finally
        {
            Environment.SetEnvironmentVariable("Warden__Sandbox__IsolationUnit", null);
        }
        var shared = Assert.Throws<ServerConfigurationException>(() => WardenServer.Build([], s => s.EnableSharedMemory = true, o =>
        {
            o.Urls = "http://127.0.0.1:0";
            o.ApiKeys = [new ApiKeyOptions { Name = "k", Sha256 = new string('a', 64), IsolationUnit = IsolationUnit.Context }];
        }));
        Assert.Contains("ApiKeys: 'k' has IsolationUnit Context, which cannot be used with EnableSharedMemory or EnableWebAssembly.", shared.Errors);
        // Setters that refuse nonsense at once throw inside the configuration binder: found here, a crash with a
        // stack trace at start (for SandboxLimits too), now a listed problem.
        foreach (var (variable, expected) in new[]
        {
            ("Warden__Sandbox__WarmIsolate__MaxExecutions", "Warden:Sandbox: MaxExecutions must be between 1 and 1000000. (got 0)"),
            ("Warden__Sandbox__Limits__MaxTimeoutMs", "Warden:Sandbox: MaxTimeoutMs must be between 1 and 900000. (got 0)"),
        })
        {
            Environment.SetEnvironmentVariable(variable, "0");
            try
            {
                var e = Assert.Throws<ServerConfigurationException>(() => WardenServer.Build([], null, o => o.Urls = "http://127.0.0.1:0"));
                Assert.Contains(expected, e.Errors);
            }
            finally
            {
                Environment.SetEnvironmentVariable(variable, null);
            }
        }
    }
}
