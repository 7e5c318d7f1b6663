using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Warden.Server;

namespace Warden.Tests.Server;

/// <summary>API keys, per-key ceilings and per-key quotas, over HTTP.</summary>
[Collection("sandbox")]
public sealed class ApiKeyTests : IAsyncLifetime
{
    private readonly (string Token, string Sha256) _alice = ApiKeyAuthenticator.NewKey();
    private readonly (string Token, string Sha256) _bob = ApiKeyAuthenticator.NewKey();
    private WebApplication _app = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        (_app, _client) = await ServerFixture.StartAsync(s => s.MaxWorkers = 3, o => o.ApiKeys =
        [
            new ApiKeyOptions { Name = "alice", Sha256 = _alice.Sha256, MaxConcurrentExecutions = 1, MaxExecutionsPerMinute = 120, MaxTimeoutMs = 2000 },
            new ApiKeyOptions { Name = "bob", Sha256 = _bob.Sha256.ToUpperInvariant() },
        ]);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task<HttpResponseMessage> RunAsync(string? token, string json)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/run") { Content = ServerFixture.Json(json) };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return await _client.SendAsync(request);
    }

    [Fact]
    public async Task ARunNeedsAValidKeyAndTheProbesDoNot()
    {
        var missing = await RunAsync(null, """{ "code": "1" }""");
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal("Bearer", missing.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType!.MediaType);
        Assert.Equal(HttpStatusCode.Unauthorized, (await RunAsync("wdn_not-a-key", """{ "code": "1" }""")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await RunAsync(_alice.Sha256, """{ "code": "1" }""")).StatusCode);

        var ok = await RunAsync(_alice.Token, """{ "code": "6 * 7" }""");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Contains("\"result\":42", await ok.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await RunAsync(_bob.Token, """{ "code": "1", "isolationKey": "narrower" }""")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync("/readyz")).StatusCode);
    }

    [Theory]
    [InlineData("/V1/run")]
    [InlineData("/v1/RUN")]
    [InlineData("/V1/RUN/")]
    [InlineData("/v1//run")]
    public async Task EveryPathButTheProbesNeedsAKeyWhateverItsCase(string path)
    {
        // Found in review: a case-sensitive "/v1" prefix check let "/V1/run" through with no key
        // (routing ignores case), past the ceilings and quotas.
        var response = await _client.PostAsync(path, ServerFixture.Json("""{ "code": "1", "limits": { "timeoutMs": 5000 } }"""));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _client.GetAsync("/anything-else")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync("/METRICS")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync("/openapi/v1.json")).StatusCode);
    }

    [Fact]
    public async Task AKeysCeilingsBoundItsLimits()
    {
        var over = await RunAsync(_alice.Token, """{ "code": "1", "limits": { "timeoutMs": 5000 } }""");
        Assert.Equal(HttpStatusCode.BadRequest, over.StatusCode);
        Assert.Equal("limits.timeoutMs", JsonDocument.Parse(await over.Content.ReadAsStringAsync()).RootElement.GetProperty("field").GetString());
        // Left out, the timeout is the key's ceiling (2 s), not the sandbox's default (5 s): the
        // outcome's own wall time says which applied (a worker start does not count there).
        var hog = await RunAsync(_alice.Token, """{ "code": "while (true) {}" }""");
        var outcome = JsonDocument.Parse(await hog.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("timeout", outcome.GetProperty("status").GetString());
        double wallMs = outcome.GetProperty("usage").GetProperty("wallMs").GetDouble();
        Assert.True(wallMs is > 1900 and < 4000, $"wall {wallMs} ms");
    }

    [Theory]
    [InlineData("""{ "code": "1", "limits": { "timeoutMs": 2001 } }""", "limits.timeoutMs")]
    [InlineData("""{ "code": "1", "limits": { "cpuMs": 2500 } }""", "limits.cpuMs")]
    public async Task ACeilingRefusalNamesTheFieldAndTheKeysCeiling(string json, string field)
    {
        var refused = await RunAsync(_alice.Token, json);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(field, problem.GetProperty("field").GetString());
        Assert.Equal($"{field} is above this API key's ceiling (2000).", problem.GetProperty("detail").GetString());
        // A key without ceilings has the sandbox's.
        Assert.Equal(HttpStatusCode.OK, (await RunAsync(_bob.Token, json)).StatusCode);
    }

    [Fact]
    public async Task OneKeyOverItsQuotaGets429AndTheOtherKeysKeepRunning()
    {
        var running = RunAsync(_alice.Token, """{ "code": "while (true) {}", "limits": { "timeoutMs": 1500 } }""");
        await Task.Delay(300);
        var refused = await RunAsync(_alice.Token, """{ "code": "1" }""");
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType!.MediaType);
        var other = await RunAsync(_bob.Token, """{ "code": "2 + 2" }""");
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.Contains("\"result\":4", await other.Content.ReadAsStringAsync());
        Assert.Contains("\"status\":\"timeout\"", await (await running).Content.ReadAsStringAsync());
        // The slot is free again.
        Assert.Equal(HttpStatusCode.OK, (await RunAsync(_alice.Token, """{ "code": "1" }""")).StatusCode);
    }

    [Fact]
    public async Task APerMinuteQuotaBelowSixtyIsExact()
    {
        // Found in review: a token bucket refilled every second let 5/min through 20 times in 15 s.
        var carol = ApiKeyAuthenticator.NewKey();
        var (app, client) = await ServerFixture.StartAsync(s => s.MaxWorkers = 1,
            o => o.ApiKeys = [new ApiKeyOptions { Name = "carol", Sha256 = carol.Sha256, MaxExecutionsPerMinute = 5 }]);
        try
        {
            var statuses = new List<HttpStatusCode>();
            for (int i = 0; i < 8; i++)
            {
                var request = new HttpRequestMessage(HttpMethod.Post, "/v1/run") { Content = ServerFixture.Json("""{ "code": "1" }""") };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", carol.Token);
                statuses.Add((await client.SendAsync(request)).StatusCode);
                await Task.Delay(1100);
            }
            Assert.Equal(5, statuses.Count(s => s == HttpStatusCode.OK));
            Assert.Equal(3, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
        }
        finally
        {
            client.Dispose();
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Fact]
    public void AKeysCeilingsMayNotExceedTheSandboxsMaximums()
    {
        var e = Assert.Throws<ServerConfigurationException>(() => WardenServer.Build([], s => s.Limits.MaxTimeoutMs = 10_000,
            o =>
            {
                o.Urls = "http://127.0.0.1:0";
                o.ApiKeys = [new ApiKeyOptions { Name = "big", Sha256 = _alice.Sha256, MaxTimeoutMs = 20_000 }];
            }));
        Assert.Contains(e.Errors, m => m.Contains("'big' has MaxTimeoutMs (20000)"));
        e = Assert.Throws<ServerConfigurationException>(() => WardenServer.Build([], s => s.Limits.MaxFuel = 1_000_000,
            o =>
            {
                o.Urls = "http://127.0.0.1:0";
                o.ApiKeys = [new ApiKeyOptions { Name = "big", Sha256 = _alice.Sha256, MaxFuel = 1_000_001 }];
            }));
        Assert.Equal(["ApiKeys: 'big' has MaxFuel (1000001) above the sandbox's MaxFuel (1000000)."], e.Errors);
    }

    [Fact]
    public void AKeysFuelCeilingIsTheLibrarysCeiling()
    {
        var key = new ApiKeyOptions { Name = "q", Sha256 = _alice.Sha256, MaxFuel = 5_000 };
        Assert.Equal(new ExecutionCeilings { MaxFuel = 5_000, Owner = "this API key" }, key.Ceilings);
        Assert.Null(new ApiKeyOptions { Name = "q", Sha256 = _alice.Sha256 }.Ceilings);
        var errors = new ServerOptions { ApiKeys = [new ApiKeyOptions { Name = "z", Sha256 = _alice.Sha256, MaxFuel = 0 }] }.Validate();
        Assert.Contains("ApiKeys[0].MaxFuel must be positive.", errors);
    }

    [Fact]
    public void KeysAreValidatedAndAllowListeningBeyondLoopback()
    {
        var withKey = new ServerOptions { Urls = "http://0.0.0.0:8080", ApiKeys = [new ApiKeyOptions { Name = "a", Sha256 = _alice.Sha256 }] };
        Assert.Empty(withKey.Validate());
        var bad = new ServerOptions
        {
            ApiKeys =
            [
                new ApiKeyOptions { Name = "a/b", Sha256 = "xyz" },
                new ApiKeyOptions { Name = "c", Sha256 = _bob.Sha256, MaxConcurrentExecutions = 0 },
                new ApiKeyOptions { Name = "c", Sha256 = _bob.Sha256 },
            ],
        };
        var errors = bad.Validate();
        Assert.Contains(errors, e => e.StartsWith("ApiKeys[0].Name", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("ApiKeys[0].Sha256", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("ApiKeys[1].MaxConcurrentExecutions", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("'c' is used more than once"));
        Assert.Contains(errors, e => e.Contains("one hash is configured for more than one key"));
    }
}
