using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Warden.Server;

namespace Warden.Tests.Server;

/// <summary>
/// The playground page of `warden serve`, its switch, and the defences that keep web pages from using a keyless
/// loopback server (DNS rebinding: the Host allowlist; other origins: the cross-site check). Over HTTP against the
/// real service; PlaygroundBrowserTests drives the page itself in Chromium.
/// </summary>
[Collection("sandbox")]
public sealed class PlaygroundTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private int Port => server.Client.BaseAddress!.Port;

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? host = null, string? origin = null,
        string? fetchSite = null, HttpContent? content = null, HttpClient? client = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        if (host is not null)
        {
            request.Headers.Host = host;
        }
        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }
        if (fetchSite is not null)
        {
            request.Headers.Add("Sec-Fetch-Site", fetchSite);
        }
        return (client ?? server.Client).SendAsync(request);
    }

    private Task<HttpResponseMessage> RunAsync(string? host = null, string? origin = null, string? fetchSite = null, string code = "6 * 7") =>
        SendAsync(HttpMethod.Post, "/v1/run", host, origin, fetchSite, ServerFixture.Json(JsonSerializer.Serialize(new { code })));

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string title)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(title, body.GetProperty("title").GetString());
    }

    [Fact]
    public async Task ThePageIsServedOnLoopbackByDefaultUnderAStrictPolicy()
    {
        var page = await server.Client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        string csp = string.Join(";", page.Headers.GetValues("Content-Security-Policy"));
        foreach (var directive in new[] { "default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
            "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'", "require-trusted-types-for 'script'", "trusted-types 'none'" })
        {
            Assert.Contains(directive, csp);
        }
        Assert.DoesNotContain("unsafe", csp);
        Assert.Equal("nosniff", page.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("no-referrer", page.Headers.GetValues("Referrer-Policy").Single());
        Assert.Equal("same-origin", page.Headers.GetValues("Cross-Origin-Opener-Policy").Single());
        Assert.Equal("same-origin", page.Headers.GetValues("Cross-Origin-Resource-Policy").Single());
        string html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<script src=\"/playground/playground.js\"", html);
        Assert.Contains("<link rel=\"stylesheet\" href=\"/playground/playground.css\">", html);

        foreach (var (path, type) in new[] { ("/playground/playground.js", "text/javascript"), ("/playground/playground.css", "text/css"),
            ("/playground/icon.svg", "image/svg+xml"), ("/playground/config.json", "application/json") })
        {
            var asset = await server.Client.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, asset.StatusCode);
            Assert.Equal(type, asset.Content.Headers.ContentType!.MediaType);
            Assert.Equal(csp, string.Join(";", asset.Headers.GetValues("Content-Security-Policy")));
            Assert.Equal("nosniff", asset.Headers.GetValues("X-Content-Type-Options").Single());
        }
    }

    [Fact]
    public async Task TheConfigurationTellsThePageWhatThisServerOffers()
    {
        var config = JsonDocument.Parse(await server.Client.GetStringAsync("/playground/config.json")).RootElement;
        Assert.Equal(["v8", "quickjs"], config.GetProperty("engines").EnumerateArray().Select(e => e.GetProperty("name").GetString()));
        Assert.Equal([false, true], config.GetProperty("engines").EnumerateArray().Select(e => e.GetProperty("countsFuel").GetBoolean()));
        Assert.Equal("v8", config.GetProperty("defaultEngine").GetString());
        Assert.False(config.GetProperty("apiKeyRequired").GetBoolean());
        var defaults = new SandboxLimits();
        Assert.Equal(defaults.DefaultTimeoutMs, config.GetProperty("limits").GetProperty("defaultTimeoutMs").GetInt32());
        Assert.Equal(defaults.MaxMemoryMb, config.GetProperty("limits").GetProperty("maxMemoryMb").GetInt32());

        // With keys the page shows its key field; the sandbox's own default engine and limits are what it offers.
        var keyed = JsonDocument.Parse(PlaygroundEndpoints.Config(
            new ServerOptions { ApiKeys = [new ApiKeyOptions { Name = "a", Sha256 = new string('0', 64) }] },
            new SandboxOptions { DefaultEngine = "quickjs", Limits = { DefaultTimeoutMs = 1234, DefaultFuel = 99 } })).RootElement;
        Assert.True(keyed.GetProperty("apiKeyRequired").GetBoolean());
        Assert.Equal("quickjs", keyed.GetProperty("defaultEngine").GetString());
        Assert.Equal(1234, keyed.GetProperty("limits").GetProperty("defaultTimeoutMs").GetInt32());
        Assert.Equal(99, keyed.GetProperty("limits").GetProperty("defaultFuel").GetInt64());
    }

    [Fact]
    public void TheEnginesOfferedAreTheLibrarys()
    {
        // The server cannot see the library's (internal) catalogue: its copy is held to it here.
        var library = Warden.Hosting.EngineCatalog.Offered(new SandboxOptions());
        Assert.Equal(library, PlaygroundEngines.Offered.Select(e => e.Name));
        Assert.All(PlaygroundEngines.Offered, e => Assert.Equal(Warden.Hosting.EngineCatalog.CountsFuel(e.Name), e.CountsFuel));
    }

    [Theory]
    [InlineData("evil.example")]
    [InlineData("evil.example:{port}")]
    [InlineData("localhost.evil.example:{port}")]
    [InlineData("127.0.0.1.nip.io:{port}")]
    [InlineData("0.0.0.0:{port}")]
    [InlineData("10.0.0.1:{port}")]
    public async Task AHostThatIsNotLoopbackIsRefusedOnEveryPath(string host)
    {
        // A DNS-rebinding page's requests carry its own name: the page, the metrics and above all /v1/run refuse it.
        host = host.Replace("{port}", Port.ToString(), StringComparison.Ordinal);
        await AssertProblemAsync(await SendAsync(HttpMethod.Get, "/", host), HttpStatusCode.BadRequest, "Unknown host");
        await AssertProblemAsync(await SendAsync(HttpMethod.Get, "/playground/config.json", host), HttpStatusCode.BadRequest, "Unknown host");
        await AssertProblemAsync(await SendAsync(HttpMethod.Get, "/metrics", host), HttpStatusCode.BadRequest, "Unknown host");
        // The probes answer any name: an orchestrator calls them by the pod's address; they run and read nothing.
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/healthz", host)).StatusCode);
        // Even with a matching Origin: that is exactly what a rebinding page sends.
        await AssertProblemAsync(await RunAsync(host, origin: "http://" + host), HttpStatusCode.BadRequest, "Unknown host");
        await AssertProblemAsync(await RunAsync(host), HttpStatusCode.BadRequest, "Unknown host");
    }

    [Theory]
    [InlineData("localhost:{port}")]
    [InlineData("LOCALHOST")]
    [InlineData("127.0.0.1:{port}")]
    [InlineData("127.0.0.2:9999")]
    [InlineData("[::1]:{port}")]
    public async Task LoopbackHostsAreServedWhateverThePort(string host)
    {
        host = host.Replace("{port}", Port.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/", host)).StatusCode);
        var run = await RunAsync(host);
        Assert.Equal(HttpStatusCode.OK, run.StatusCode);
        Assert.Contains("\"result\":42", await run.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ARunFromAnotherOriginIsRefusedAndOneFromThePageOrWithoutOriginIsNot()
    {
        string own = $"http://127.0.0.1:{Port}";
        foreach (var foreign in new[] { "http://evil.example", $"http://localhost:{Port}", $"http://127.0.0.1:{Port + 1}", "null",
            $"{own}/", $"http://user@127.0.0.1:{Port}", "ftp://127.0.0.1" })
        {
            await AssertProblemAsync(await RunAsync(origin: foreign), HttpStatusCode.Forbidden, "Cross-site request refused");
        }
        // Fetch metadata alone is enough to refuse, "same-site" included (another port of localhost is the same site).
        await AssertProblemAsync(await RunAsync(fetchSite: "cross-site"), HttpStatusCode.Forbidden, "Cross-site request refused");
        await AssertProblemAsync(await RunAsync(origin: own, fetchSite: "same-site"), HttpStatusCode.Forbidden, "Cross-site request refused");
        // A "simple" cross-origin POST (no preflight) is refused from its headers, before its body or type is looked at.
        var plain = await SendAsync(HttpMethod.Post, "/v1/run", origin: "http://evil.example", content: new StringContent("""{"code":"1"}""", Encoding.UTF8, "text/plain"));
        await AssertProblemAsync(plain, HttpStatusCode.Forbidden, "Cross-site request refused");
        // The case-insensitive route is covered too: the check is by method, not by path.
        var upper = await SendAsync(HttpMethod.Post, "/V1/RUN", origin: "http://evil.example", content: ServerFixture.Json("""{"code":"1"}"""));
        await AssertProblemAsync(upper, HttpStatusCode.Forbidden, "Cross-site request refused");

        foreach (var (origin, site) in new (string?, string?)[] { (own, "same-origin"), (own, null), (null, null), ($"HTTP://127.0.0.1:{Port}", null) })
        {
            var ok = await RunAsync(origin: origin, fetchSite: site);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Equal("nosniff", ok.Headers.GetValues("X-Content-Type-Options").Single());
        }
        // Reading across origins is not a state change: GET is not refused (the browser, not Warden, keeps the answer from the other page).
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/healthz", origin: "http://evil.example", fetchSite: "cross-site")).StatusCode);
    }

    [Fact]
    public async Task OffIs404AndAllowedHostsAreServed()
    {
        var (app, client) = await ServerFixture.StartAsync(s => s.MaxWorkers = 1, o =>
        {
            o.Playground = PlaygroundMode.Off;
            o.AllowedHosts = ["warden.test", "10.1.2.3"];
        });
        try
        {
            foreach (var path in new[] { "/", "/playground/playground.js", "/playground/config.json" })
            {
                Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(path)).StatusCode);
            }
            int port = client.BaseAddress!.Port;
            Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Get, "/", "WARDEN.test", client: client)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/healthz", $"10.1.2.3:{port}", client: client)).StatusCode);
            var run = await SendAsync(HttpMethod.Post, "/v1/run", $"warden.test:{port}", $"https://warden.test:{port}", "same-origin",
                ServerFixture.Json("""{"code":"1 + 1"}"""), client);
            Assert.Equal(HttpStatusCode.OK, run.StatusCode);
            await AssertProblemAsync(await SendAsync(HttpMethod.Get, "/metrics", "other.test", client: client), HttpStatusCode.BadRequest, "Unknown host");
        }
        finally
        {
            client.Dispose();
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task ANonLoopbackServerHasNoPageUnlessOnAndItsKeysStandInForTheHostCheck()
    {
        var (token, sha256) = ApiKeyAuthenticator.NewKey();
        var app = WardenServer.Build([], s => { s.MaxWorkers = 1; s.SpareWorkers = 1; }, o =>
        {
            o.Urls = "http://0.0.0.0:0";
            o.ApiKeys = [new ApiKeyOptions { Name = "tenant", Sha256 = sha256 }];
        });
        await app.StartAsync();
        // Every interface, reached here through loopback (an HttpClient cannot connect to 0.0.0.0 itself).
        using var loopback = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{new Uri(WardenServer.ListeningAddresses(app)[0]).Port}") };
        try
        {
            Assert.False(ServerOptions.IsLoopbackUrl(WardenServer.ListeningAddresses(app)[0]));
            for (int i = 0; i < 300 && !(await loopback.GetAsync("/readyz")).IsSuccessStatusCode; i++)
            {
                await Task.Delay(50);
            }
            // Auto: listening beyond loopback, so no page (404, not 401: the page's paths need no key).
            Assert.Equal(HttpStatusCode.NotFound, (await loopback.GetAsync("/")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await loopback.GetAsync("/playground/config.json")).StatusCode);
            // With keys and no AllowedHosts, names are not checked (probes and load balancers use any); the key guards runs.
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/healthz", "warden.internal", client: loopback)).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Post, "/v1/run", "warden.internal",
                content: ServerFixture.Json("""{"code":"1"}"""), client: loopback)).StatusCode);
            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/run") { Content = ServerFixture.Json("""{"code":"1"}""") };
            request.Headers.Host = "warden.internal";
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            Assert.Equal(HttpStatusCode.OK, (await loopback.SendAsync(request)).StatusCode);
            // The cross-site check does not depend on keys: a key in a foreign page's request is refused all the same.
            var foreign = new HttpRequestMessage(HttpMethod.Post, "/v1/run") { Content = ServerFixture.Json("""{"code":"1"}""") };
            foreign.Headers.Add("Origin", "http://evil.example");
            foreign.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            await AssertProblemAsync(await loopback.SendAsync(foreign), HttpStatusCode.Forbidden, "Cross-site request refused");
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Fact]
    public void AutoIsOnOnlyWhenEveryListeningAddressIsLoopback()
    {
        string[] loopback = ["http://127.0.0.1:8080", "http://[::1]:8080", "http://localhost:8080"];
        Assert.True(new PlaygroundSwitch(PlaygroundMode.Auto, () => loopback).Enabled);
        Assert.False(new PlaygroundSwitch(PlaygroundMode.Auto, () => [.. loopback, "http://0.0.0.0:8080"]).Enabled);
        Assert.False(new PlaygroundSwitch(PlaygroundMode.Auto, () => ["http://10.0.0.5:8080"]).Enabled);
        Assert.False(new PlaygroundSwitch(PlaygroundMode.Auto, () => []).Enabled);
        Assert.True(new PlaygroundSwitch(PlaygroundMode.On, () => ["http://0.0.0.0:8080"]).Enabled);
        Assert.False(new PlaygroundSwitch(PlaygroundMode.Off, () => loopback).Enabled);
    }

    [Fact]
    public void AnInvalidSettingIsAConfigurationErrorSaidAtStart()
    {
        Environment.SetEnvironmentVariable("Warden__Server__Playground", "Sometimes");
        try
        {
            var e = Assert.Throws<ServerConfigurationException>(() => WardenServer.Build([], null, o => o.Urls = "http://127.0.0.1:0"));
            Assert.Contains(e.Errors, m => m.StartsWith("Warden:Server:", StringComparison.Ordinal) && m.Contains("Playground"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("Warden__Server__Playground", null);
        }
        var errors = new ServerOptions { Playground = (PlaygroundMode)7, AllowedHosts = ["*", "http://x.example:80", "", "x.example:8080", "*.example.com"] }.Validate();
        Assert.Contains("Playground (7) must be Auto, On or Off.", errors);
        Assert.Contains(errors, m => m.StartsWith("AllowedHosts[0]: '*' has a wildcard", StringComparison.Ordinal));
        Assert.Contains(errors, m => m.StartsWith("AllowedHosts[1]: 'http://x.example:80' is not a host name", StringComparison.Ordinal));
        Assert.Contains("AllowedHosts[2]: an entry is empty.", errors);
        Assert.Contains(errors, m => m.StartsWith("AllowedHosts[3]: 'x.example:8080' is not a host name", StringComparison.Ordinal));
        Assert.Contains(errors, m => m.StartsWith("AllowedHosts[4]: '*.example.com' has a wildcard", StringComparison.Ordinal));
        Assert.Empty(new ServerOptions { Playground = PlaygroundMode.On, AllowedHosts = ["warden.example.com", "10.0.0.5", "[fd00::1]", "WARDEN.example.com."] }.Validate());
    }

    [Fact]
    public void ThePageHasNoInlineCodeAndItsScriptNeverWritesMarkup()
    {
        // An extra guard beside the real one (the CSP's Trusted Types, which Chromium enforces in PlaygroundBrowserTests):
        // the shipped files, as embedded, use no sink that parses a string as markup or code.
        string js = Embedded("playground.js"), html = Embedded("index.html");
        foreach (var sink in new[] { "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
            "createContextualFragment", "DOMParser", "srcdoc", "setAttribute('on", "setAttribute(\"on" })
        {
            Assert.DoesNotContain(sink, js);
        }
        Assert.Contains(".textContent", js);
        // Every script element has a src; no style element or attribute; no inline event handler.
        Assert.All(Regex.Matches(html, "<script[^>]*>").Select(m => m.Value), tag => Assert.Contains(" src=", tag));
        Assert.DoesNotMatch("<style|\\sstyle=", html);
        Assert.DoesNotMatch("\\son[a-z]+=", html);
    }

    private static string Embedded(string name)
    {
        using var stream = typeof(WardenServer).Assembly.GetManifestResourceStream("Warden.Server.Playground." + name)!;
        return new StreamReader(stream).ReadToEnd();
    }
}
