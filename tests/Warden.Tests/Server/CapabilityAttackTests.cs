using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Warden.Cli;
using Warden.Server;

namespace Warden.Tests.Server;

/// <summary>
/// Attack review of capabilities over HTTP and on the command line: one key reaching another's (or an unconfigured)
/// capability, narrowing bypasses, webhook answers and timings that could break the reply path or hold the host, and
/// configurations that would start the server broken. Each test names what it attacks.
/// </summary>
[Collection("sandbox")]
public sealed class CapabilityAttackTests : IAsyncLifetime
{
    private const string WebhookSecret = "attack-webhook-secret-5b1f";
    private readonly (string Token, string Sha256) _alice = ApiKeyAuthenticator.NewKey();
    private readonly (string Token, string Sha256) _bob = ApiKeyAuthenticator.NewKey();
    private readonly (string Token, string Sha256) _carol = ApiKeyAuthenticator.NewKey();
    private CountingServer _api = null!;
    private CountingServer _slow = null!;
    private WebApplication _app = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _api = await CountingServer.StartAsync(HandleAsync);
        _slow = await CountingServer.StartAsync(async context =>
        {
            try
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
            }
        });
        (_app, _client) = await ServerFixture.StartAsync(s =>
        {
            s.MaxWorkers = 2;
            s.Limits.MaxHostCallResultBytes = 1024;
            s.Limits.HostCallTimeoutMs = 1000;
        }, o =>
        {
            o.FetchOrigins = [new FetchOriginOptions { Origin = _api.Origin }];
            o.Webhooks =
            [
                new WebhookOptions { Name = "aliceHook", Url = _api.Origin + "/alice", Headers = new() { ["Authorization"] = "Bearer " + WebhookSecret } },
                new WebhookOptions { Name = "bobHook", Url = _api.Origin + "/bob" },
                new WebhookOptions { Name = "answer", Url = _api.Origin + "/answer" },
                new WebhookOptions { Name = "slow", Url = _slow.Origin + "/slow" },
                new WebhookOptions { Name = "__proto__", Url = _api.Origin + "/alice" },
                new WebhookOptions { Name = "constructor", Url = _api.Origin + "/bob" },
            ];
            o.ApiKeys =
            [
                new ApiKeyOptions { Name = "alice", Sha256 = _alice.Sha256, FetchOrigins = [_api.Origin], HostFunctions = ["aliceHook", "answer", "slow", "__proto__", "constructor"] },
                new ApiKeyOptions { Name = "bob", Sha256 = _bob.Sha256, HostFunctions = ["bobHook"] },
                // The same grants spelt twice: a harmless repetition in the configuration.
                new ApiKeyOptions
                {
                    Name = "carol", Sha256 = _carol.Sha256,
                    FetchOrigins = [_api.Origin, _api.Origin + "/", _api.Origin.ToUpperInvariant()],
                    HostFunctions = ["bobHook", "bobHook"],
                },
            ];
        });
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _api.DisposeAsync();
        await _slow.DisposeAsync();
    }

    /// <summary>The webhooks and the origin of the keyed server: each path answers one JSON string.</summary>
    private static async Task HandleAsync(HttpContext context)
    {
        switch (context.Request.Path.Value)
        {
            case "/alice":
                await context.Response.WriteAsync("\"alice's\"");
                return;
            case "/bob":
                await context.Response.WriteAsync("\"bob's\"");
                return;
            case "/answer":
                await context.Response.WriteAsync("\"plain\"");
                return;
            default:
                await context.Response.WriteAsync("\"fetched\"");
                return;
        }
    }

    private static async Task WriteAnswerAsync(HttpContext context, string kind)
    {
        var response = context.Response;
        switch (kind)
        {
            case "deep":
                await response.WriteAsync(new string('[', 200) + new string(']', 200));
                break;
            case "duplicate":
                await response.WriteAsync("{\"a\":1,\"a\":2}");
                break;
            case "badUtf8":
                await response.Body.WriteAsync(new byte[] { (byte)'"', 0xFF, 0xFE, (byte)'"' });
                break;
            case "surrogate":
                await response.WriteAsync("\"\\ud800\"");
                break;
            case "gzip":
                response.Headers.ContentEncoding = "gzip";
                using (var packed = new MemoryStream())
                {
                    await using (var gzip = new GZipStream(packed, CompressionLevel.Fastest, leaveOpen: true))
                    {
                        await gzip.WriteAsync(new byte[1 << 20]);
                    }
                    await response.Body.WriteAsync(packed.ToArray());
                }
                break;
            case "bom":
                await response.Body.WriteAsync(new byte[] { 0xEF, 0xBB, 0xBF, (byte)'1' });
                break;
            case "hugeNumber":
                await response.WriteAsync("1e400");
                break;
            case "empty":
                response.StatusCode = 204;
                break;
            case "cookie":
                response.Headers.SetCookie = "session=planted; Path=/";
                await response.WriteAsync("\"cookie set\"");
                break;
            case "endless":
                // More than the result limit, chunked, without a length.
                for (int i = 0; i < 1000 && !context.RequestAborted.IsCancellationRequested; i++)
                {
                    await response.WriteAsync(new string(' ', 1024));
                }
                break;
            case "lies":
                response.ContentLength = 10;
                await response.WriteAsync("[1");
                await response.Body.FlushAsync();
                context.Abort();
                break;
            default:
                await response.WriteAsync("\"plain\"");
                break;
        }
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> RunAsync(string? token, object request, HttpClient? client = null)
    {
        var message = new HttpRequestMessage(HttpMethod.Post, "/v1/run") { Content = ServerFixture.Json(request as string ?? JsonSerializer.Serialize(request)) };
        if (token is not null)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        var response = await (client ?? _client).SendAsync(message);
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    // ---- Holes found (each failed before its fix) ----

    /// <summary>
    /// Attack: a key whose grants repeat one origin in several spellings (or one webhook twice). Before the fix every
    /// request of that key that did not narrow was refused (400, "granted twice"): the configuration started, and the
    /// key was unusable.
    /// </summary>
    [Fact]
    public async Task AKeyWhoseGrantsRepeatASpellingIsStillServed()
    {
        int before = _api.Count;
        var (status, body) = await RunAsync(_carol.Token, new
        {
            code = "(async () => [await (await fetch('" + _api.Origin + "/x')).json(), await (await import('warden:host')).bobHook()])()",
        });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("[\"fetched\",\"bob's\"]", body.GetProperty("result").GetRawText());
        Assert.Equal(before + 2, _api.Count);
    }

    /// <summary>
    /// Attack: capabilities granted to a key whose executions run in a warm isolate (IsolationUnit Context), where the
    /// library refuses every grant. Before the fix the server started and every request of that key that did not
    /// narrow its grant to nothing was a 400; now the configuration is refused at start. Without API keys, a sandbox in
    /// Context mode with configured capabilities is refused the same way (every keyless request is granted them all).
    /// </summary>
    [Fact]
    public void CapabilitiesForAWarmIsolateKeyAreRefusedAtStart()
    {
        var keyed = Assert.Throws<ServerConfigurationException>(() => WardenServer.Build([], s => { }, o =>
        {
            o.Urls = "http://127.0.0.1:0";
            o.FetchOrigins = [new FetchOriginOptions { Origin = "https://api.example.com" }];
            o.Webhooks = [new WebhookOptions { Name = "hook", Url = "https://hooks.example.com" }];
            o.ApiKeys =
            [
                new ApiKeyOptions { Name = "warm", Sha256 = new string('a', 64), IsolationUnit = IsolationUnit.Context, FetchOrigins = ["https://api.example.com"] },
                new ApiKeyOptions { Name = "warmToo", Sha256 = new string('b', 64), IsolationUnit = IsolationUnit.Context, HostFunctions = ["hook"] },
                new ApiKeyOptions { Name = "fresh", Sha256 = new string('c', 64), FetchOrigins = ["https://api.example.com"], HostFunctions = ["hook"] },
                new ApiKeyOptions { Name = "warmButBare", Sha256 = new string('d', 64), IsolationUnit = IsolationUnit.Context },
            ];
        }));
        Assert.Contains(keyed.Errors, m => m.Contains("'warm'", StringComparison.Ordinal) && m.Contains("Context", StringComparison.Ordinal));
        Assert.Contains(keyed.Errors, m => m.Contains("'warmToo'", StringComparison.Ordinal));
        Assert.DoesNotContain(keyed.Errors, m => m.Contains("'fresh'", StringComparison.Ordinal) || m.Contains("'warmButBare'", StringComparison.Ordinal));

        // The sandbox's own unit applies to a key that names none.
        var inherited = Assert.Throws<ServerConfigurationException>(() => WardenServer.Build([], s => s.IsolationUnit = IsolationUnit.Context, o =>
        {
            o.Urls = "http://127.0.0.1:0";
            o.Webhooks = [new WebhookOptions { Name = "hook", Url = "https://hooks.example.com" }];
            o.ApiKeys = [new ApiKeyOptions { Name = "k", Sha256 = new string('a', 64), HostFunctions = ["hook"] }];
        }));
        Assert.Contains(inherited.Errors, m => m.Contains("'k'", StringComparison.Ordinal) && m.Contains("Context", StringComparison.Ordinal));

        var keyless = Assert.Throws<ServerConfigurationException>(() => WardenServer.Build([], s => s.IsolationUnit = IsolationUnit.Context, o =>
        {
            o.Urls = "http://127.0.0.1:0";
            o.FetchOrigins = [new FetchOriginOptions { Origin = "https://api.example.com" }];
        }));
        Assert.Contains(keyless.Errors, m => m.Contains("Context", StringComparison.Ordinal) && m.Contains("API key", StringComparison.Ordinal));
    }

    /// <summary>
    /// Attack: webhook headers that frame or route the request, or that HttpClient cannot send. Before the fix a
    /// <c>Host</c>, <c>Content-Length</c>, <c>Transfer-Encoding</c> or <c>Content-Type</c> header was accepted (and
    /// changed the request's framing or its JSON body's type), a name that is not an HTTP token was accepted and then
    /// silently dropped from every call (a secret header that never arrives), and a Latin-1 value made every call fail.
    /// </summary>
    [Theory]
    [InlineData("Host", "internal.example")]
    [InlineData("Content-Length", "1")]
    [InlineData("Transfer-Encoding", "chunked")]
    [InlineData("Connection", "close")]
    [InlineData("Content-Type", "text/plain")]
    [InlineData("Proxy-Authorization", "Basic eA==")]
    [InlineData("X-Key(1)", "value")]
    [InlineData("X-Key", "caf\u00e9")]
    [InlineData("X-Key", " padded ")]
    public void WebhookHeadersThatFrameTheRequestOrCannotBeSentAreRefusedAtStart(string name, string value)
    {
        var e = Assert.Throws<ServerConfigurationException>(() => WardenServer.Build([], s => { }, o =>
        {
            o.Urls = "http://127.0.0.1:0";
            o.Webhooks = [new WebhookOptions { Name = "hook", Url = "https://hooks.example.com", Headers = new() { [name] = value } }];
        }));
        Assert.Contains(e.Errors, m => m.StartsWith("Webhooks[0].Headers", StringComparison.Ordinal));
        // The value is usually a secret: never echoed.
        Assert.DoesNotContain(e.Errors, m => m.Contains(value, StringComparison.Ordinal) && value != name && value.Trim().Length > 4);
    }

    /// <summary>
    /// Attack on the operator's logs: an origin configured with a password (refused) was echoed whole, password
    /// included, in the start-up error, twice; so was a key's grant of such an origin.
    /// </summary>
    [Fact]
    public void ConfigurationErrorsNeverEchoAnOriginsPassword()
    {
        var e = Assert.Throws<ServerConfigurationException>(() => WardenServer.Build([], s => { }, o =>
        {
            o.Urls = "http://127.0.0.1:0";
            o.FetchOrigins =
            [
                new FetchOriginOptions { Origin = "https://user:pw-one-7f3a@api.example.com" },
                new FetchOriginOptions { Origin = "https://pw-two-7f3a@api2.example.com/path" },
                new FetchOriginOptions { Origin = "https://a:b@c:pw-three-7f3a@api3.example.com" },
                new FetchOriginOptions { Origin = "https://u:pw/five-7f3a@api5.example.com" },
            ];
            o.ApiKeys = [new ApiKeyOptions { Name = "k", Sha256 = new string('a', 64), FetchOrigins = ["https://u:pw-four-7f3a@api4.example.com"] }];
        }));
        Assert.Equal(5, e.Errors.Count);
        Assert.DoesNotContain("7f3a", e.Message, StringComparison.Ordinal);
        Assert.Contains(e.Errors, m => m.StartsWith("FetchOrigins[0]", StringComparison.Ordinal) && m.Contains("https://***@api.example.com", StringComparison.Ordinal));
    }

    // ---- Attacks that held ----

    /// <summary>
    /// Attack: a request naming an allowed origin (or webhook) half a million times, each entry parsed on the server:
    /// measured at about a second for 12 MiB, about what parsing the body costs, and served once.
    /// </summary>
    [Fact]
    public async Task AHugeCapabilityArrayCostsNoMoreThanItsBody()
    {
        foreach (var field in new[] { "fetchOrigins", "hostFunctions" })
        {
            string entry = field == "fetchOrigins" ? "\"" + _api.Origin + "/\"" : "\"aliceHook\"";
            var json = new StringBuilder("{\"code\":\"typeof fetch\",\"" + field + "\":[");
            for (int i = 0; i < 500_000; i++)
            {
                json.Append(i == 0 ? "" : ",").Append(entry);
            }
            json.Append("]}");
            var clock = Stopwatch.StartNew();
            var (status, body) = await RunAsync(_alice.Token, json.ToString());
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("\"function\"", body.GetProperty("result").GetRawText());
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"{field}: {clock.Elapsed}");
        }
    }

    /// <summary>Attack: key B asks for key A's webhook and origin in every spelling; B's default grant never includes A's.</summary>
    [Fact]
    public async Task AKeyNeverReachesAnotherKeysCapabilities()
    {
        int before = _api.Count;
        var (status, body) = await RunAsync(_bob.Token, new
        {
            code = "(async () => [typeof fetch, Object.keys(await import('warden:host')).sort().join(','), await (await import('warden:host')).bobHook()])()",
        });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("[\"undefined\",\"bobHook\",\"bob's\"]", body.GetProperty("result").GetRawText());
        foreach (var names in new[] { new[] { "aliceHook" }, ["bobHook", "aliceHook"], ["AliceHook"], ["bobhook"], ["bobHook "], ["answer"], ["__proto__"], ["constructor"], ["toString"] })
        {
            var (refused, problem) = await RunAsync(_bob.Token, new { code = "1", hostFunctions = names });
            Assert.Equal(HttpStatusCode.BadRequest, refused);
            Assert.StartsWith("hostFunctions[", problem.GetProperty("field").GetString());
            Assert.DoesNotContain("alice", problem.GetRawText(), StringComparison.OrdinalIgnoreCase);
        }
        string port = _api.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var origin in new[] { _api.Origin, _api.Origin + "/", "HTTP://127.0.0.1:" + port, "http://127.0.0.1:" + port + "/.", "http://[::ffff:127.0.0.1]:" + port, "http://2130706433:" + port, "http://127.1:" + port })
        {
            var (refused, problem) = await RunAsync(_bob.Token, new { code = "1", fetchOrigins = new[] { origin } });
            Assert.Equal(HttpStatusCode.BadRequest, refused);
            Assert.Equal("fetchOrigins[0]", problem.GetProperty("field").GetString());
            Assert.DoesNotContain(port, problem.GetRawText());
        }
        Assert.Equal(before + 1, _api.Count);
    }

    /// <summary>Attack: spellings of a granted origin narrow to it (and only it); a narrowing that is empty grants nothing.</summary>
    [Fact]
    public async Task NarrowingAcceptsSpellingsOfAGrantAndNothingElse()
    {
        string port = _api.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var (status, body) = await RunAsync(_alice.Token, new
        {
            code = "[typeof fetch, typeof input]",
            fetchOrigins = new[] { "HTTP://127.0.0.1:" + port + "/", _api.Origin, _api.Origin + "/" },
            hostFunctions = new[] { "answer", "answer" },
        });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("[\"function\",\"object\"]", body.GetProperty("result").GetRawText());

        var (_, none) = await RunAsync(_alice.Token, new
        {
            code = "import('warden:host').then(() => 'host', () => typeof fetch)",
            fetchOrigins = Array.Empty<string>(),
            hostFunctions = Array.Empty<string>(),
        });
        Assert.Equal("\"undefined\"", none.GetProperty("result").GetRawText());
    }

    /// <summary>Attack: malformed capability fields: each a 400 naming the field, never a 500 or .NET text.</summary>
    [Theory]
    [InlineData("{\"code\":\"1\",\"fetchOrigins\":\"http://127.0.0.1:1\"}", "fetchOrigins")]
    [InlineData("{\"code\":\"1\",\"fetchOrigins\":[null]}", "fetchOrigins[0]")]
    [InlineData("{\"code\":\"1\",\"fetchOrigins\":[[\"x\"]]}", "fetchOrigins[0]")]
    [InlineData("{\"code\":\"1\",\"fetchOrigins\":[{}]}", "fetchOrigins[0]")]
    [InlineData("{\"code\":\"1\",\"fetchOrigins\":[true]}", "fetchOrigins[0]")]
    [InlineData("{\"code\":\"1\",\"fetchOrigins\":[\"\"]}", "fetchOrigins[0]")]
    [InlineData("{\"code\":\"1\",\"fetchOrigins\":[\"\\u0000\"]}", "fetchOrigins[0]")]
    [InlineData("{\"code\":\"1\",\"fetchOrigins\":[\"http://[::1\"]}", "fetchOrigins[0]")]
    [InlineData("{\"code\":\"1\",\"fetchOrigins\":{\"0\":\"x\"}}", "fetchOrigins")]
    [InlineData("{\"code\":\"1\",\"fetchOrigins\":[],\"fetchOrigins\":[]}", "fetchOrigins")]
    [InlineData("{\"code\":\"1\",\"fetchOrigins\":[\"http://%41.com\"]}", "fetchOrigins[0]")]
    [InlineData("{\"code\":\"1\",\"fetchOrigins\":[\"http://a.com:0\"]}", "fetchOrigins[0]")]
    [InlineData("{\"code\":\"1\",\"fetchOrigins\":[\"http://a.com:-1\"]}", "fetchOrigins[0]")]
    [InlineData("{\"code\":\"1\",\"fetchOrigins\":[\"http://[::]\"]}", "fetchOrigins[0]")]
    [InlineData("{\"code\":\"1\",\"fetchOrigins\":[\"http://0x7f.1\"]}", "fetchOrigins[0]")]
    [InlineData("{\"code\":\"1\",\"fetchOrigins\":[\"http://a.com:\"]}", "fetchOrigins[0]")]
    [InlineData("{\"code\":\"1\",\"fetchOrigins\":[\"http:a.com\"]}", "fetchOrigins[0]")]
    [InlineData("{\"code\":\"1\",\"fetchOrigins\":[\"http:/a.com\"]}", "fetchOrigins[0]")]
    [InlineData("{\"code\":\"1\",\"fetchOrigins\":[\"//a.com\"]}", "fetchOrigins[0]")]
    [InlineData("{\"code\":\"1\",\"fetchOrigins\":[\"http://a.com\\\\\"]}", "fetchOrigins[0]")]
    [InlineData("{\"code\":\"1\",\"fetchOrigins\":[\"http://a.com/..\"]}", "fetchOrigins[0]")]
    [InlineData("{\"code\":\"1\",\"fetchOrigins\":[\"https://a.com:443:443\"]}", "fetchOrigins[0]")]
    [InlineData("{\"code\":\"1\",\"fetchOrigins\":[\"http://xn--.com\"]}", "fetchOrigins[0]")]
    [InlineData("{\"code\":\"1\",\"fetchOrigins\":[\"http://a.com.\"]}", "fetchOrigins[0]")]
    [InlineData("{\"code\":\"1\",\"fetchOrigins\":[\"http://[fe80::1%25eth0]\"]}", "fetchOrigins[0]")]
    [InlineData("{\"code\":\"1\",\"fetchOrigins\":[\"http://a.com/%2e%2e\"]}", "fetchOrigins[0]")]
    [InlineData("{\"code\":\"1\",\"fetchOrigins\":[\"javascript:alert(1)\"]}", "fetchOrigins[0]")]
    [InlineData("{\"code\":\"1\",\"fetchOrigins\":[\"data:text/plain,x\"]}", "fetchOrigins[0]")]
    [InlineData("{\"code\":\"1\",\"hostFunctions\":[null]}", "hostFunctions[0]")]
    [InlineData("{\"code\":\"1\",\"hostFunctions\":[1]}", "hostFunctions[0]")]
    [InlineData("{\"code\":\"1\",\"hostFunctions\":[\"\\ud800\"]}", "hostFunctions[0]")]
    [InlineData("{\"code\":\"1\",\"hostFunctions\":[\"then\"]}", "hostFunctions[0]")]
    [InlineData("{\"code\":\"1\",\"hostFunctions\":\"aliceHook\"}", "hostFunctions")]
    [InlineData("{\"code\":\"1\",\"HostFunctions\":[\"aliceHook\"]}", "HostFunctions")]
    public async Task MalformedCapabilityFieldsAreA400NamingTheField(string json, string field)
    {
        var (status, problem) = await RunAsync(_alice.Token, json);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(field, problem.GetProperty("field").GetString());
        Assert.DoesNotContain("System.", problem.GetRawText());
        Assert.DoesNotContain("Exception", problem.GetRawText());
    }

    /// <summary>
    /// Attack: webhook answers that could break the reply path (too deep, duplicate members, invalid UTF-8, a lone
    /// surrogate, a compression bomb, a BOM, a number out of range, no content, a cookie, an endless body, a body
    /// shorter than its length). Each is a value or an Error for the script; the outcome is always 200 and names
    /// nothing of the webhook's address.
    /// </summary>
    [Fact]
    public async Task WebhookAnswersThatCouldBreakTheReplyPathDoNot()
    {
        // The kind travels as a header the operator would set: one webhook per kind, configured on a server of their own.
        await using var hooks = await CountingServer.StartAsync(c => WriteAnswerAsync(c, c.Request.Path.Value!.TrimStart('/')));
        string[] kinds = ["deep", "duplicate", "badUtf8", "surrogate", "gzip", "bom", "hugeNumber", "empty", "cookie", "endless", "lies", "plain"];
        var (app, client) = await ServerFixture.StartAsync(s =>
        {
            s.MaxWorkers = 1;
            s.Limits.MaxHostCallResultBytes = 4096;
            s.Limits.HostCallTimeoutMs = 2000;
        }, o => o.Webhooks = [.. kinds.Select(k => new WebhookOptions { Name = k, Url = hooks.Origin + "/" + k })]);
        try
        {
            var (status, body) = await RunAsync(null, new
            {
                code = """
                    (async () => {
                      const host = await import('warden:host');
                      const out = {};
                      for (const name of Object.keys(host)) {
                        try { out[name] = 'ok ' + JSON.stringify(await host[name]()); } catch (e) { out[name] = e.name + ': ' + e.message; }
                      }
                      out.again = 'ok ' + JSON.stringify(await host.plain());
                      return out;
                    })()
                    """,
            }, client);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("ok", body.GetProperty("status").GetString());
            var result = body.GetProperty("result");
            Assert.Equal(kinds.Length + 1, result.EnumerateObject().Count());
            // Duplicate members: the last wins (as JSON.parse has it); invalid UTF-8 becomes U+FFFD; a lone surrogate
            // cannot be re-serialised and is the generic failure; 1e400 is Infinity in the isolate (null once stringified).
            Assert.Equal("ok {\"a\":2}", result.GetProperty("duplicate").GetString());
            Assert.StartsWith("ok \"", result.GetProperty("badUtf8").GetString());
            Assert.Equal("Error: The host function surrogate failed", result.GetProperty("surrogate").GetString());
            Assert.Equal("ok null", result.GetProperty("hugeNumber").GetString());
            Assert.Equal("Error: The webhook bom did not answer JSON", result.GetProperty("bom").GetString());
            Assert.Equal("ok \"plain\"", result.GetProperty("again").GetString());
            Assert.Equal("ok null", result.GetProperty("empty").GetString());
            Assert.Equal("ok \"cookie set\"", result.GetProperty("cookie").GetString());
            Assert.StartsWith("Error: The webhook gzip ", result.GetProperty("gzip").GetString());
            Assert.StartsWith("Error: The webhook endless answered more than", result.GetProperty("endless").GetString());
            Assert.StartsWith("Error: ", result.GetProperty("lies").GetString());
            Assert.StartsWith("Error: ", result.GetProperty("deep").GetString());
            string text = body.GetRawText();
            Assert.DoesNotContain(hooks.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), text);
            Assert.DoesNotContain("System.", text);
            // No cookie carried from one call to the next.
            Assert.All(hooks.Seen, seen => Assert.Null(seen.Header("cookie")));
        }
        finally
        {
            client.Dispose();
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    /// <summary>
    /// Attack: a webhook that never answers. The call rejects at the host-call timeout and its HTTP request is aborted;
    /// a call still pending when the execution ends is aborted too, and neither holds the execution past its limit.
    /// </summary>
    [Fact]
    public async Task ASlowWebhookIsAbortedAtItsTimeoutAndAtTheEndOfItsExecution()
    {
        var clock = Stopwatch.StartNew();
        var (status, body) = await RunAsync(_alice.Token, new
        {
            code = "(async () => { try { await (await import('warden:host')).slow(1); return 'answered'; } catch (e) { return e.name + ': ' + e.message; } })()",
            hostFunctions = new[] { "slow" },
        });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.StartsWith("RangeError: ", body.GetProperty("result").GetString());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), clock.Elapsed.ToString());
        await WaitUntilAsync(() => _slow.AbortedCount >= 1);

        int aborted = _slow.AbortedCount;
        var (_, ended) = await RunAsync(_alice.Token, new
        {
            code = "(async () => { const { slow } = await import('warden:host'); slow(2).catch(() => {}); await new Promise(r => setTimeout(r, 200)); return 'done'; })()",
            hostFunctions = new[] { "slow" },
        });
        Assert.Equal("\"done\"", ended.GetProperty("result").GetRawText());
        await WaitUntilAsync(() => _slow.AbortedCount > aborted);

        // The wall limit holds while a call is pending.
        clock.Restart();
        var (_, timedOut) = await RunAsync(_alice.Token, new
        {
            code = "(async () => { const { slow } = await import('warden:host'); await slow(3); })()",
            hostFunctions = new[] { "slow" },
            limits = new { timeoutMs = 300 },
        });
        Assert.Equal("timeout", timedOut.GetProperty("status").GetString());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), clock.Elapsed.ToString());
    }

    /// <summary>Attack: webhook names that are also names of Object.prototype members, to break warden:host.</summary>
    [Fact]
    public async Task WebhooksNamedLikePrototypeMembersWork()
    {
        var (status, body) = await RunAsync(_alice.Token, new
        {
            code = "(async () => { const h = await import('warden:host'); return [await h.__proto__(), await h.constructor(), Object.getPrototypeOf(h)]; })()",
            hostFunctions = new[] { "__proto__", "constructor" },
        });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("[\"alice's\",\"bob's\",null]", body.GetProperty("result").GetRawText());
    }

    /// <summary>
    /// Attack: without API keys, asking for a host function registered in code (not a webhook) or an origin registered
    /// in code: the keyless default is what the server's configuration lists, never the sandbox's code registrations.
    /// </summary>
    [Fact]
    public async Task KeylessRequestsGetOnlyTheConfiguredCapabilities()
    {
        var (app, client) = await ServerFixture.StartAsync(s =>
        {
            s.MaxWorkers = 1;
            s.HostFunctions.Add("internalAdmin", (JsonElement _, HostCallContext _) => System.Text.Json.Nodes.JsonValue.Create("admin"));
            s.FetchOrigins.Add("http://127.0.0.1:9");
        }, o => o.Webhooks = [new WebhookOptions { Name = "bobHook", Url = _api.Origin + "/bob" }]);
        try
        {
            var (status, body) = await RunAsync(null, new
            {
                code = "(async () => [typeof fetch, Object.keys(await import('warden:host')).join(',')])()",
            }, client);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("[\"undefined\",\"bobHook\"]", body.GetProperty("result").GetRawText());
            var (refused, _) = await RunAsync(null, new { code = "1", hostFunctions = new[] { "internalAdmin" } }, client);
            Assert.Equal(HttpStatusCode.BadRequest, refused);
            var (refusedOrigin, _) = await RunAsync(null, new { code = "1", fetchOrigins = new[] { "http://127.0.0.1:9" } }, client);
            Assert.Equal(HttpStatusCode.BadRequest, refusedOrigin);
        }
        finally
        {
            client.Dispose();
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    /// <summary>Attack: configurations that would start with a webhook shadowing another function or a bad grant.</summary>
    [Fact]
    public void ConfusingCapabilityConfigurationIsRefusedAtStart()
    {
        var e = Assert.Throws<ServerConfigurationException>(() => WardenServer.Build([], s =>
            s.HostFunctions.Add("inCode", JsonNode? (JsonElement _, HostCallContext _) => null), o =>
        {
            o.Urls = "http://127.0.0.1:0";
            o.FetchOrigins = [new FetchOriginOptions { Origin = "https://a.example.com" }, new FetchOriginOptions { Origin = "HTTPS://A.EXAMPLE.COM:443/" }];
            o.Webhooks =
            [
                new WebhookOptions { Name = "twice", Url = "https://hooks.example.com/1" },
                new WebhookOptions { Name = "twice", Url = "https://hooks.example.com/2" },
                new WebhookOptions { Name = "inCode", Url = "https://hooks.example.com/3" },
                new WebhookOptions { Name = "crlf", Url = "https://hooks.example.com/4", Headers = new() { ["X-A"] = "a\r\nX-B: b" } },
                new WebhookOptions { Name = "with-dash", Url = "https://hooks.example.com/5" },
                new WebhookOptions { Name = "userinfo", Url = "https://user:" + WebhookSecret + "@hooks.example.com/6" },
            ];
            o.ApiKeys = [new ApiKeyOptions { Name = "k", Sha256 = new string('a', 64), FetchOrigins = [""], HostFunctions = ["inCode"] }];
        }));
        Assert.Contains(e.Errors, m => m.StartsWith("FetchOrigins[1]", StringComparison.Ordinal) && m.Contains("already registered", StringComparison.Ordinal));
        Assert.Contains(e.Errors, m => m.Contains("'twice' is already registered", StringComparison.Ordinal));
        Assert.Contains(e.Errors, m => m.Contains("'inCode' is already registered", StringComparison.Ordinal));
        Assert.Contains(e.Errors, m => m.StartsWith("Webhooks[3].Headers", StringComparison.Ordinal));
        Assert.Contains(e.Errors, m => m.StartsWith("Webhooks[4].Name", StringComparison.Ordinal));
        Assert.Contains(e.Errors, m => m.StartsWith("Webhooks[5].Url", StringComparison.Ordinal));
        Assert.Contains(e.Errors, m => m.Contains("granted the origin ''", StringComparison.Ordinal));
        Assert.DoesNotContain(e.Errors, m => m.Contains(WebhookSecret, StringComparison.Ordinal));
    }

    /// <summary>Attack: --allow-fetch spellings (empty, repeated, odd case, many, a list in one token): always one outcome JSON.</summary>
    [Fact]
    public async Task AllowFetchSpellingsAlwaysGiveOneOutcome()
    {
        string script = Path.Combine(Path.GetTempPath(), "warden-attack-" + Guid.NewGuid().ToString("N") + ".js");
        await File.WriteAllTextAsync(script, "typeof fetch");
        try
        {
            string port = _api.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            string[][] refused =
            [
                ["--allow-fetch", ""],
                ["--allow-fetch"],
                ["--allow-fetch", _api.Origin + "," + _api.Origin],
                ["--allow-fetch", _api.Origin + "/path"],
                ["--allow-fetch", "file:///etc/passwd"],
                ["--allow-fetch", "http://user:pw@127.0.0.1:" + port],
            ];
            foreach (var flags in refused)
            {
                var (exit, outcome) = await CliAsync([.. flags], script);
                Assert.True(exit == 64, string.Join(" ", flags) + ": " + outcome.GetRawText());
                Assert.Equal("invalid_request", outcome.GetProperty("status").GetString());
            }
            var many = Enumerable.Range(0, 200).SelectMany(i => new[] { "--allow-fetch", i % 2 == 0 ? "HTTP://127.0.0.1:" + port + "/" : "http://127.0.0.1:" + (1000 + i) }).ToArray();
            var (okExit, ok) = await CliAsync([.. many], script);
            Assert.Equal(0, okExit);
            Assert.Equal("\"function\"", ok.GetProperty("result").GetRawText());
            // Thousands of distinct origins: the grant travels to the worker whole.
            var thousands = Enumerable.Range(0, 5000).SelectMany(i => new[] { "--allow-fetch", "http://10." + (i / 250) + "." + (i % 250) + ".1:8080" }).ToArray();
            var (bigExit, big) = await CliAsync(thousands, script);
            Assert.True(bigExit == 0, big.GetRawText());
            Assert.Equal("\"function\"", big.GetProperty("result").GetRawText());
        }
        finally
        {
            File.Delete(script);
        }
    }

    private static async Task<(int Exit, JsonElement Outcome)> CliAsync(string[] flags, string script)
    {
        using var stdout = new MemoryStream();
        using var stderr = new StringWriter();
        int exit = await WardenCommandLine.InvokeAsync(["run", script, .. flags], stdout, stderr, new MemoryStream());
        var lines = Encoding.UTF8.GetString(stdout.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        return (exit, JsonDocument.Parse(lines[0]).RootElement.Clone());
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (int i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(50);
        }
        Assert.True(condition());
    }
}
