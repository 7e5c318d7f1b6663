using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Warden.Server;

namespace Warden.Tests.Server;

/// <summary>
/// Attacks on the web surface of <c>warden serve</c> (TM-16): DNS-rebinding variants of the <c>Host</c> header and the
/// request line (sent raw, as no HttpClient would send them), cross-site POST variants, what the probes tell a page
/// under a foreign name, reflection of request text into answers, and whether requests can grow <c>/metrics</c>.
/// </summary>
[Collection("sandbox")]
public sealed partial class WebSurfaceAttackTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private int Port => server.Client.BaseAddress!.Port;

    private const string RunBody = """{"code":"6 * 7"}""";

    /// <summary>Sends <paramref name="head"/> (request line and headers, CRLF-separated, no final blank line) and a body, exactly as written.</summary>
    private async Task<(int Status, string Text)> RawAsync(string head, string body = "")
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, Port);
        using var stream = tcp.GetStream();
        byte[] bytes = Encoding.ASCII.GetBytes(head.Replace("{port}", Port.ToString(), StringComparison.Ordinal) + "\r\nConnection: close\r\n\r\n" + body);
        await stream.WriteAsync(bytes);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy, cancel.Token);
        string text = Encoding.UTF8.GetString(copy.ToArray());
        var status = StatusLine().Match(text);
        Assert.True(status.Success, $"no HTTP answer: {text}");
        return (int.Parse(status.Groups[1].Value), text);
    }

    [GeneratedRegex(@"^HTTP/1\.[01] (\d{3})")]
    private static partial Regex StatusLine();

    private static string Post(string target, string hostLine, string extra = "") =>
        $"POST {target} HTTP/1.1\r\n{hostLine}\r\nContent-Type: application/json\r\nContent-Length: {RunBody.Length}{extra}";

    [Theory]
    // Two Host headers: whichever one a check read, the other could be the one routing or a proxy used.
    [InlineData("POST /v1/run HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHost: evil.example\r\nContent-Type: application/json\r\nContent-Length: 16")]
    [InlineData("POST /v1/run HTTP/1.1\r\nHost: evil.example\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: 16")]
    // Absolute-form targets naming another authority than the Host header (either way round).
    [InlineData("POST http://evil.example/v1/run HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: 16")]
    [InlineData("POST http://127.0.0.1:{port}/v1/run HTTP/1.1\r\nHost: evil.example\r\nContent-Type: application/json\r\nContent-Length: 16")]
    // User info, a list, a trailing dot, a loopback-looking prefix, a zone id: none is a loopback name.
    [InlineData("POST /v1/run HTTP/1.1\r\nHost: localhost:80@evil.example\r\nContent-Type: application/json\r\nContent-Length: 16")]
    [InlineData("POST /v1/run HTTP/1.1\r\nHost: 127.0.0.1, evil.example\r\nContent-Type: application/json\r\nContent-Length: 16")]
    [InlineData("POST /v1/run HTTP/1.1\r\nHost: evil.example.\r\nContent-Type: application/json\r\nContent-Length: 16")]
    [InlineData("POST /v1/run HTTP/1.1\r\nHost: LOCALHOST.evil.example:{port}\r\nContent-Type: application/json\r\nContent-Length: 16")]
    [InlineData("POST /v1/run HTTP/1.1\r\nHost: 127.0.0.1.evil.example\r\nContent-Type: application/json\r\nContent-Length: 16")]
    [InlineData("POST /v1/run HTTP/1.1\r\nHost: [::1%25lo]:{port}\r\nContent-Type: application/json\r\nContent-Length: 16")]
    [InlineData("POST /v1/run HTTP/1.1\r\nHost: [fe80::1%lo]:{port}\r\nContent-Type: application/json\r\nContent-Length: 16")]
    // Forwarding headers are not honoured (no proxy is trusted): they cannot stand in for a foreign Host.
    [InlineData("POST /v1/run HTTP/1.1\r\nHost: evil.example\r\nX-Forwarded-Host: localhost\r\nForwarded: host=localhost\r\nContent-Type: application/json\r\nContent-Length: 16")]
    public async Task RebindingVariantsOfTheHostRunNothing(string head)
    {
        Assert.Equal(16, RunBody.Length);
        var (status, text) = await RawAsync(head, RunBody);
        Assert.Equal(400, status);
        Assert.DoesNotContain("\"result\":42", text);
    }

    [Theory]
    [InlineData("127.1")]
    [InlineData("0x7f.1")]
    [InlineData("127.0.0.1:{port}")]
    [InlineData("LocalHost:{port}")]
    [InlineData("[::1]")]
    public async Task LoopbackLiteralsInAnyNotationAreServed(string host)
    {
        // Browsers write an IP host in its canonical form and never let a DNS name end in a number, so these
        // spellings are never a rebinding page's name: answering them is harmless.
        var (status, text) = await RawAsync(Post("/v1/run", "Host: " + host), RunBody);
        Assert.Equal(200, status);
        Assert.Contains("\"result\":42", text);
        // And a forwarding header naming another host changes nothing either way.
        var (forwarded, _) = await RawAsync(Post("/v1/run", "Host: " + host, "\r\nX-Forwarded-Host: evil.example"), RunBody);
        Assert.Equal(200, forwarded);
    }

    [Fact]
    public async Task AnHttp10RequestWithoutHostIsServedBecauseNoBrowserSendsOne()
    {
        // Documented behaviour: an empty Host is accepted (curl --http1.0, old tools). A browser always sends the URL's
        // host, so a web page cannot produce this request.
        var (status, text) = await RawAsync($"POST /v1/run HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: {RunBody.Length}", RunBody);
        Assert.Equal(200, status);
        Assert.Contains("\"result\":42", text);
    }

    [Theory]
    [InlineData("evil.localhost")]
    [InlineData("localhost.evil.example")]
    [InlineData("localhost.")]
    [InlineData("127.0.0.1.nip.io")]
    [InlineData("127.0.0.1x")]
    [InlineData("0x7f.evil")]
    [InlineData("[::1]x")]
    [InlineData("[::1%25lo]")]
    [InlineData("[::1%lo]")]
    [InlineData("")]
    [InlineData("xn--localhost-7ya")]
    public void NoNameADomainCanTakeCountsAsLoopback(string name) =>
        Assert.False(HostAllowlist.IsLoopbackName(name));

    [Fact]
    public async Task CrossSitePostVariantsAreRefusedBeforeAnythingRuns()
    {
        string own = $"http://127.0.0.1:{{port}}";
        string hostLine = "Host: 127.0.0.1:{port}";
        foreach (string extra in new[]
        {
            // Fetch metadata alone, with no Origin (e.g. a navigation a browser does not label with Origin).
            "\r\nSec-Fetch-Site: cross-site",
            // A matching Origin cannot outvote fetch metadata, nor a second Origin header a first.
            $"\r\nOrigin: {own}\r\nSec-Fetch-Site: cross-site",
            $"\r\nOrigin: {own}\r\nOrigin: http://evil.example",
            "\r\nOrigin: http://evil.example\r\nOrigin: " + own,
            // Two fetch-metadata values.
            "\r\nSec-Fetch-Site: same-origin\r\nSec-Fetch-Site: cross-site",
            // Another scheme and port, or the same port under another scheme's default.
            "\r\nOrigin: https://127.0.0.1:{portplus}",
            "\r\nOrigin: https://127.0.0.1",
            "\r\nOrigin: http://127.0.0.1",
            // A method override header changes nothing: the method is POST.
            "\r\nOrigin: http://evil.example\r\nX-HTTP-Method-Override: GET",
            "\r\nOrigin: null",
            "\r\nOrigin: http://127.0.0.1:{port}.evil.example",
            "\r\nOrigin: http://127.0.0.1:{port}@evil.example",
        })
        {
            var (status, text) = await RawAsync(Post("/v1/run", hostLine, extra.Replace("{portplus}", (Port + 1).ToString(), StringComparison.Ordinal)), RunBody);
            Assert.True(status == 403, $"{extra}: {status}\n{text}");
            Assert.DoesNotContain("\"result\":42", text);
        }
        // A chunked text/plain body (a "simple" request, no preflight) is refused from its headers.
        string chunked = $"POST /v1/run HTTP/1.1\r\n{hostLine}\r\nOrigin: http://evil.example\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked";
        var (chunkedStatus, _) = await RawAsync(chunked, $"{RunBody.Length:x}\r\n{RunBody}\r\n0\r\n\r\n");
        Assert.Equal(403, chunkedStatus);
    }

    [Fact]
    public async Task APreflightOrHeadFromAnotherOriginGetsNoCorsGrantAndRunsNothing()
    {
        foreach (string method in new[] { "OPTIONS", "HEAD", "GET", "PUT" })
        {
            var (status, text) = await RawAsync($"{method} /v1/run HTTP/1.1\r\nHost: 127.0.0.1:{{port}}\r\nOrigin: http://evil.example\r\n"
                + "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\nContent-Length: 0");
            Assert.NotEqual(200, status);
            Assert.DoesNotContain("Access-Control-Allow", text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("\"result\"", text);
        }
    }

    [Fact]
    public async Task RefusalsReflectNoRequestText()
    {
        // A refusal that echoed the Host or Origin would let a cache or a page plant text under this server's name.
        const string Marker = "reflected-marker";
        var (hostStatus, hostText) = await RawAsync($"GET / HTTP/1.1\r\nHost: {Marker}.example");
        Assert.Equal(400, hostStatus);
        Assert.DoesNotContain(Marker, hostText);
        var (originStatus, originText) = await RawAsync(Post("/v1/run", "Host: 127.0.0.1:{port}", $"\r\nOrigin: http://{Marker}.example"), RunBody);
        Assert.Equal(403, originStatus);
        Assert.DoesNotContain(Marker, originText);
    }

    [Fact]
    public async Task TheProbesTellAForeignNameOnlyWhetherTheServerIsUp()
    {
        // A rebinding page may read the probes (they are exempt from the Host check so that orchestrators can call them
        // by a pod's address): they must not describe the machine's isolation to it (which OS layers are missing) or
        // when worker starts failed.
        var (live, liveText) = await RawAsync("GET /healthz HTTP/1.1\r\nHost: evil.example");
        Assert.Equal(200, live);
        var (ready, readyText) = await RawAsync("GET /readyz HTTP/1.1\r\nHost: evil.example");
        Assert.Equal(200, ready);
        foreach (string text in new[] { liveText, readyText })
        {
            string body = text[(text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
            Assert.DoesNotContain("layer", body, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("isolation", body, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("worker", body, StringComparison.OrdinalIgnoreCase);
        }
        // The operator, on a loopback name, still gets the isolation summary.
        string own = await server.Client.GetStringAsync("/readyz");
        Assert.StartsWith("ready; ", own);
        Assert.Contains("layer", own, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task RequestsCannotGrowTheMetricsSeries()
    {
        // Engine names, isolation keys, error names and messages are the caller's or the script's text: none may become a
        // label value, or each request could add series until the scraper (or this process) gives out.
        const string Marker = "cardmarker";
        async Task RoundAsync(int round)
        {
            for (int i = 0; i < 12; i++)
            {
                string tag = $"{Marker}{round}x{i}";
                string body = JsonSerializer.Serialize(new
                {
                    code = $"class E{tag} extends Error {{}}; throw new E{tag}('{tag}-message')",
                    engine = i % 3 == 0 ? $"{tag}engine" : null,
                    isolationKey = $"{tag}-key",
                });
                var response = await server.Client.PostAsync("/v1/run", ServerFixture.Json(body));
                Assert.True(response.IsSuccessStatusCode || (int)response.StatusCode == 400, $"{(int)response.StatusCode}");
            }
        }
        await RoundAsync(0);
        string first = await server.Client.GetStringAsync("/metrics");
        await RoundAsync(1);
        string second = await server.Client.GetStringAsync("/metrics");
        Assert.DoesNotContain(Marker, second, StringComparison.OrdinalIgnoreCase);
        var engines = EngineLabel().Matches(second).Select(m => m.Groups[1].Value).ToHashSet();
        Assert.NotEmpty(engines);
        Assert.Subset(new HashSet<string> { "v8", "quickjs" }, engines);
        var statuses = StatusLabel().Matches(second).Select(m => m.Groups[1].Value).ToHashSet();
        Assert.Contains(OutcomeStatus.ScriptError.ToWireString(), statuses);
        Assert.All(statuses, s => Assert.Matches("^[a-z_]+$", s));
        // Twelve more requests of the same kinds, with new names, keys and errors, add no series (a worker retired
        // meanwhile may add its reason's one).
        int Series(string text) => text.Split('\n').Count(l => l.Length > 0 && l[0] != '#');
        Assert.True(Series(second) - Series(first) <= 2, $"{Series(first)} series after the first round, {Series(second)} after the second");
    }

    [GeneratedRegex("warden_engine=\"([^\"]*)\"")]
    private static partial Regex EngineLabel();

    [GeneratedRegex("warden_execution_status=\"([^\"]*)\"")]
    private static partial Regex StatusLabel();
}
