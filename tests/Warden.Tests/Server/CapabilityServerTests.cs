using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Warden.Server;

namespace Warden.Tests.Server;

/// <summary>
/// Capabilities over HTTP: fetch origins and webhooks configured by the operator, granted per API key, which a
/// request can only narrow; webhooks answered by a loopback server that counts what it receives.
/// </summary>
[Collection("sandbox")]
public sealed class CapabilityServerTests : IAsyncLifetime
{
    private const string FetchSecret = "fetch-secret-91c2";
    private const string WebhookSecret = "webhook-secret-4d7e";
    private readonly (string Token, string Sha256) _alice = ApiKeyAuthenticator.NewKey();
    private readonly (string Token, string Sha256) _bob = ApiKeyAuthenticator.NewKey();
    private CountingServer _api = null!;
    private CountingServer _other = null!;
    private WebApplication _app = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _api = await CountingServer.StartAsync(HandleAsync);
        _other = await CountingServer.StartAsync(HandleAsync);
        (_app, _client) = await ServerFixture.StartAsync(s =>
        {
            s.MaxWorkers = 2;
            s.Limits.MaxHostCallResultBytes = 1024;
        }, o =>
        {
            o.FetchOrigins =
            [
                new FetchOriginOptions { Origin = _api.Origin, Headers = new() { ["X-Api-Key"] = FetchSecret } },
                new FetchOriginOptions { Origin = _other.Origin },
            ];
            o.Webhooks =
            [
                new WebhookOptions { Name = "lookupUser", Url = _api.Origin + "/users", Headers = new() { ["Authorization"] = "Bearer " + WebhookSecret } },
                new WebhookOptions { Name = "broken", Url = _api.Origin + "/fail" },
                new WebhookOptions { Name = "chatty", Url = _api.Origin + "/huge" },
                new WebhookOptions { Name = "prose", Url = _api.Origin + "/prose" },
                new WebhookOptions { Name = "moved", Url = _api.Origin + "/moved" },
            ];
            o.ApiKeys =
            [
                new ApiKeyOptions { Name = "alice", Sha256 = _alice.Sha256, FetchOrigins = [_api.Origin, _other.Origin], HostFunctions = ["lookupUser", "broken", "chatty", "prose", "moved"] },
                new ApiKeyOptions { Name = "bob", Sha256 = _bob.Sha256 },
            ];
        });
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _api.DisposeAsync();
        await _other.DisposeAsync();
    }

    private static async Task HandleAsync(HttpContext context)
    {
        switch (context.Request.Path.Value)
        {
            case "/users":
                var args = context.Request.Query.Count == 0 ? null : context.Request.Query["x"].ToString();
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("{\"name\":\"Ada\",\"args\":" + (args ?? "null") + "}");
                break;
            case "/fail":
                context.Response.StatusCode = 500;
                await context.Response.WriteAsync("stack trace of the internal service at /srv/internal");
                break;
            case "/huge":
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("\"" + new string('x', 4096) + "\"");
                break;
            case "/prose":
                await context.Response.WriteAsync("not json");
                break;
            case "/moved":
                context.Response.StatusCode = 302;
                context.Response.Headers.Location = "http://127.0.0.1:1/elsewhere";
                break;
            default:
                await context.Response.WriteAsync("from " + context.Request.Path.Value);
                break;
        }
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> RunAsync(string token, object request)
    {
        var message = new HttpRequestMessage(HttpMethod.Post, "/v1/run") { Content = ServerFixture.Json(JsonSerializer.Serialize(request)) };
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var response = await _client.SendAsync(message);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    [Fact]
    public async Task AKeysOriginsAreFetchedWithTheOperatorsHeadersAndOthersAreNot()
    {
        int before = _api.Count;
        var (status, body) = await RunAsync(_alice.Token, new
        {
            code = "(async () => [await (await fetch('" + _api.Origin + "/x')).text(), typeof fetch])()",
        });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("[\"from /x\",\"function\"]", body.GetProperty("result").GetRawText());
        var seen = _api.Seen.Skip(before).Single();
        Assert.Equal(FetchSecret, seen.Header("x-api-key"));
        Assert.DoesNotContain(FetchSecret, body.GetRawText());

        // bob was granted nothing: no fetch at all, and asking for an origin is refused before anything runs.
        var (bobStatus, bobBody) = await RunAsync(_bob.Token, new { code = "typeof fetch" });
        Assert.Equal("\"undefined\"", bobBody.GetProperty("result").GetRawText());
        var (refused, problem) = await RunAsync(_bob.Token, new { code = "1", fetchOrigins = new[] { _api.Origin } });
        Assert.Equal(HttpStatusCode.BadRequest, refused);
        Assert.Equal("fetchOrigins[0]", problem.GetProperty("field").GetString());
        Assert.Equal(before + 1, _api.Count);
    }

    [Fact]
    public async Task ARequestCanOnlyNarrowItsKeysGrant()
    {
        int other = _other.Count;
        var (status, body) = await RunAsync(_alice.Token, new
        {
            code = "(async () => { try { await fetch('" + _other.Origin + "/x'); return 'fetched'; } catch (e) { return e.name; } })()",
            fetchOrigins = new[] { _api.Origin + "/" },
        });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("\"TypeError\"", body.GetProperty("result").GetRawText());
        Assert.Equal(other, _other.Count);
        var (wider, problem) = await RunAsync(_alice.Token, new { code = "1", fetchOrigins = new[] { "http://127.0.0.1:1" } });
        Assert.Equal(HttpStatusCode.BadRequest, wider);
        Assert.Equal("fetchOrigins[0]", problem.GetProperty("field").GetString());
        Assert.DoesNotContain("127.0.0.1:1", problem.GetRawText());
        var (unknown, functionProblem) = await RunAsync(_alice.Token, new { code = "1", hostFunctions = new[] { "lookupUser", "exec" } });
        Assert.Equal(HttpStatusCode.BadRequest, unknown);
        Assert.Equal("hostFunctions[1]", functionProblem.GetProperty("field").GetString());
        var (junk, _) = await RunAsync(_alice.Token, new { code = "1", fetchOrigins = new object[] { 1 } });
        Assert.Equal(HttpStatusCode.BadRequest, junk);
    }

    [Fact]
    public async Task AWebhookIsAHostFunctionThatPostsItsArguments()
    {
        int before = _api.Count;
        var (status, body) = await RunAsync(_alice.Token, new
        {
            code = "(async () => { const { lookupUser } = await import('warden:host'); return lookupUser(7, { why: 'ü' }); })()",
            hostFunctions = new[] { "lookupUser" },
        });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("{\"name\":\"Ada\",\"args\":null}", body.GetProperty("result").GetRawText());
        Assert.Equal(1, body.GetProperty("usage").GetProperty("hostCalls").GetInt32());
        var seen = _api.Seen.Skip(before).Single();
        Assert.Equal("POST", seen.Method);
        Assert.Equal("/users", seen.RawTarget);
        Assert.Equal("[7,{\"why\":\"ü\"}]", Encoding.UTF8.GetString(seen.Body));
        Assert.Equal("Bearer " + WebhookSecret, seen.Header("authorization"));
        // Whose execution called: the key's isolation key ("alice/" and the request's own, none here), percent-encoded.
        Assert.Equal("alice%2F", seen.Header("warden-isolation-key"));
        Assert.StartsWith("application/json", seen.Header("content-type"));
        Assert.DoesNotContain(WebhookSecret, body.GetRawText());

        // Narrowed to fetch only: no warden:host at all.
        var (_, narrowed) = await RunAsync(_alice.Token, new
        {
            code = "import('warden:host').then(() => 'imported', (e) => e.message)",
            hostFunctions = Array.Empty<string>(),
        });
        Assert.Contains("Cannot find module", narrowed.GetProperty("result").GetString());
    }

    [Fact]
    public async Task AWebhooksFailuresSayLittleAndNeverLeaveItsURL()
    {
        var (status, body) = await RunAsync(_alice.Token, new
        {
            code = """
                (async () => {
                  const host = await import('warden:host');
                  const out = [];
                  for (const name of ['broken', 'chatty', 'prose', 'moved']) {
                    try { await host[name](); out.push('ok'); } catch (e) { out.push(e.name + ': ' + e.message); }
                  }
                  return out;
                })()
                """,
        });
        Assert.Equal(HttpStatusCode.OK, status);
        var rows = body.GetProperty("result").EnumerateArray().Select(r => r.GetString()).ToList();
        Assert.Equal("Error: The webhook broken answered HTTP 500", rows[0]);
        Assert.Equal("Error: The webhook chatty answered more than 1024 bytes (maxResultBytes)", rows[1]);
        Assert.Equal("Error: The webhook prose did not answer JSON", rows[2]);
        Assert.Equal("Error: The webhook moved answered HTTP 302", rows[3]);
        Assert.DoesNotContain("/srv/internal", body.GetRawText());
        Assert.DoesNotContain(_api.Port.ToString(), body.GetRawText());
    }

    [Fact]
    public void BadCapabilityConfigurationIsRefusedAtStart()
    {
        var e = Assert.Throws<ServerConfigurationException>(() => WardenServer.Build([], s => { }, o =>
        {
            o.Urls = "http://127.0.0.1:0";
            o.FetchOrigins = [new FetchOriginOptions { Origin = "http://localhost:8080" }, new FetchOriginOptions { Origin = "https://api.example.com" }];
            o.Webhooks = [new WebhookOptions { Name = "then", Url = "https://hooks.example.com" }, new WebhookOptions { Name = "ok", Url = "ftp://x" }];
            o.ApiKeys = [new ApiKeyOptions { Name = "k", Sha256 = new string('a', 64), FetchOrigins = ["https://other.example.com"], HostFunctions = ["missing"] }];
        }));
        Assert.Contains(e.Errors, m => m.StartsWith("FetchOrigins[0]", StringComparison.Ordinal) && m.Contains("localhost"));
        Assert.Contains(e.Errors, m => m.StartsWith("Webhooks[0].Name", StringComparison.Ordinal));
        Assert.Contains(e.Errors, m => m.StartsWith("Webhooks[1].Url", StringComparison.Ordinal));
        Assert.Contains(e.Errors, m => m.Contains("'https://other.example.com'", StringComparison.Ordinal));
        Assert.Contains(e.Errors, m => m.Contains("'missing'", StringComparison.Ordinal));
        Assert.DoesNotContain(e.Errors, m => m.StartsWith("FetchOrigins[1]", StringComparison.Ordinal));
    }
}
