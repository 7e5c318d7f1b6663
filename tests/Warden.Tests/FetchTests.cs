using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Warden.Tests;

/// <summary>
/// fetch granted by origin (SandboxOptions.FetchOrigins, Submission.FetchOrigins), end to end on both engines
/// against loopback servers that count what they receive: what a script reaches, what never leaves, every limit,
/// with the time it took and the host's health afterwards. The host's own checks of a request (the URL's two
/// parsers, the address policy, the connection) are attacked directly in Hosting/Fetch.
/// </summary>
[Collection("sandbox")]
public sealed class FetchTests : IAsyncLifetime
{
    private static readonly TimeSpan MaxElapsed = TimeSpan.FromSeconds(20);
    private const string Secret = "operator-secret-7f3a";
    private const int MaxResponseBytes = 1 << 20;
    private const int FetchTimeoutMs = 1500;
    private const int MaxHostCalls = 30;
    private const int MaxConcurrent = 4;

    private CountingServer _a = null!;
    private CountingServer _b = null!;
    private string _closed = null!;
    private string _hostname = null!;
    private Sandbox _sandbox = null!;
    private byte[] _gzipBomb = null!;

    public static TheoryData<string> Engines => new() { "v8", "quickjs" };

    public async Task InitializeAsync()
    {
        // 64 MiB of zeros in ~64 KiB of gzip: 64 times the response limit once decoded.
        using (var compressed = new MemoryStream())
        {
            using (var gzip = new GZipStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
            {
                var zeros = new byte[1 << 20];
                for (int i = 0; i < 64; i++)
                {
                    gzip.Write(zeros);
                }
            }
            _gzipBomb = compressed.ToArray();
        }
        _a = await CountingServer.StartAsync(HandleAsync);
        _b = await CountingServer.StartAsync(HandleAsync);
        // A granted origin nobody listens on (connection refused).
        var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int closedPort = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        _closed = $"http://127.0.0.1:{closedPort}";
        // A hostname granted by the operator that resolves to loopback: refused at connection time.
        _hostname = $"http://granted.test:{_a.Port}";

        var options = new SandboxOptions { MaxWorkers = 2, SpareWorkers = 1 };
        options.Limits.MaxFetchResponseBytes = MaxResponseBytes;
        options.Limits.FetchTimeoutMs = FetchTimeoutMs;
        options.Limits.MaxHostCalls = MaxHostCalls;
        options.Limits.MaxConcurrentHostCalls = MaxConcurrent;
        options.Limits.MaxFetchRequestBodyBytes = 64 << 10;
        options.FetchOrigins.Add(_a.Origin + "/", headers: [new("X-Api-Key", Secret)]);
        options.FetchOrigins.Add(_b.Origin);
        options.FetchOrigins.Add(_closed);
        options.FetchOrigins.Add(_hostname);
        options.FetchOrigins.Add("http://127.0.0.9:1", allowedIsolationKeys: ["tenant-a"]);
        _sandbox = new Sandbox(options, logger: null, fetchResolver: new Hosting.Fetch.FakeFetchResolver([IPAddress.Loopback]));
        await _sandbox.WarmUpAsync();
    }

    public async Task DisposeAsync()
    {
        await _sandbox.DisposeAsync();
        await _a.DisposeAsync();
        await _b.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        string path = request.Path.Value ?? "/";
        switch (path)
        {
            case "/echo":
                response.ContentType = "text/plain";
                response.Headers["X-Custom"] = "1";
                response.Headers.SetCookie = "session=abc";
                await response.WriteAsync("hello " + request.Method);
                break;
            case "/json":
                response.ContentType = "application/json";
                await response.WriteAsync("{\"a\":[1,2]}");
                break;
            case "/bytes":
                response.ContentType = "application/octet-stream";
                await response.Body.WriteAsync(Enumerable.Range(0, 256).Select(i => (byte)i).ToArray());
                break;
            case "/gzip":
                response.Headers.ContentEncoding = "gzip";
                using (var buffer = new MemoryStream())
                {
                    using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
                    {
                        gzip.Write("hello gzip"u8);
                    }
                    await response.Body.WriteAsync(buffer.ToArray());
                }
                break;
            case "/redirect":
                response.StatusCode = int.Parse(request.Query["code"].ToString() is { Length: > 0 } code ? code : "302");
                response.Headers.Location = request.Query["to"].ToString();
                break;
            case "/loop":
                response.StatusCode = 302;
                response.Headers.Location = "/loop";
                break;
            case "/big-length":
                response.ContentLength = 1L << 30;
                await response.Body.FlushAsync();
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
                break;
            case "/endless":
                var chunk = new byte[64 << 10];
                while (!context.RequestAborted.IsCancellationRequested)
                {
                    await response.Body.WriteAsync(chunk, context.RequestAborted);
                }
                break;
            case "/gzip-bomb":
                response.Headers.ContentEncoding = "gzip";
                await response.Body.WriteAsync(_gzipBomb, context.RequestAborted);
                break;
            case "/slow-headers":
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
                break;
            case "/slow-body":
                await response.Body.FlushAsync(context.RequestAborted);
                while (true)
                {
                    await response.Body.WriteAsync("x"u8.ToArray(), context.RequestAborted);
                    await response.Body.FlushAsync(context.RequestAborted);
                    await Task.Delay(200, context.RequestAborted);
                }
            case "/wait":
                await Task.Delay(300, context.RequestAborted);
                await response.WriteAsync("waited");
                break;
            default:
                response.StatusCode = 404;
                break;
        }
    }

    private async Task<(Outcome Outcome, TimeSpan Elapsed)> RunAsync(string engine, string code, params string[] origins)
    {
        var clock = Stopwatch.StartNew();
        var outcome = await _sandbox.RunAsync(new Submission
        {
            Code = code.Replace("$A", _a.Origin).Replace("$B", _b.Origin).Replace("$PORT", _a.Port.ToString()),
            Engine = engine,
            FetchOrigins = origins.Length == 0 ? null : origins,
            Limits = new ExecutionLimits(TimeoutMs: 15_000),
        });
        return (outcome, clock.Elapsed);
    }

    /// <summary>What the script's promise settled with, as JSON (errors as [name, message]).</summary>
    private const string Settle = """
        const settle = (p) => p.then((r) => r, (e) => [e.name, e.message]);
        """;

    private async Task AssertHealthyAsync(string engine)
    {
        int before = _a.Count;
        var (outcome, _) = await RunAsync(engine, "(async () => (await fetch('$A/json')).json())()", _a.Origin);
        OutcomeAssert.Ok("{\"a\":[1,2]}", outcome);
        Assert.Equal(before + 1, _a.Count);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task WithoutAGrantThereIsNoFetchAndTheOutcomeIsUnchanged(string engine)
    {
        const string code = "[typeof fetch, typeof Request, typeof Response, typeof Headers, Object.getOwnPropertyNames(globalThis).filter(n => /warden|fetch/i.test(n))]";
        var (without, _) = await RunAsync(engine, code);
        OutcomeAssert.Ok("[\"undefined\",\"undefined\",\"undefined\",\"undefined\",[]]", without);
        Assert.Null(without.Usage.HostCalls);
        var (with, _) = await RunAsync(engine, code, _a.Origin);
        OutcomeAssert.Ok("[\"function\",\"function\",\"function\",\"function\",[\"fetch\"]]", with);
        // Fetch alone grants no host functions: warden:host stays unknown.
        var (module, _) = await RunAsync(engine, "import('warden:host').then(() => 'imported', (e) => e.message)", _a.Origin);
        Assert.Contains("Cannot find module", module.ResultJson);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task AGrantedOriginIsFetchedWithItsSecretAndNothingOfTheHost(string engine)
    {
        int before = _a.Count;
        var (outcome, elapsed) = await RunAsync(engine, """
            (async () => {
              const res = await fetch('$A/echo?q=1&x=%41#fragment', { headers: { 'X-Test': 'yes', 'X-Api-Key': 'forged' } });
              return [res.status, res.ok, res.statusText, await res.text(), res.headers.get('x-custom'), res.headers.get('set-cookie'),
                res.url, res.redirected, res.type, res.bodyUsed];
            })()
            """, _a.Origin);
        OutcomeAssert.Ok($"[200,true,\"OK\",\"hello GET\",\"1\",null,\"{_a.Origin}/echo?q=1&x=%41\",false,\"basic\",true]", outcome);
        Assert.Equal(1, outcome.Usage.HostCalls);
        Assert.True(elapsed < MaxElapsed, $"took {elapsed}");
        var seen = _a.Seen.Skip(before).Single();
        Assert.Equal("GET", seen.Method);
        Assert.Equal("/echo?q=1&x=%41", seen.RawTarget);
        Assert.Equal("yes", seen.Header("x-test"));
        // The operator's header wins over the script's, and the script never saw it.
        Assert.Equal(Secret, seen.Header("x-api-key"));
        Assert.DoesNotContain(Secret, outcome.ToJson());
        Assert.StartsWith("Warden/", seen.Header("user-agent"));
        Assert.Equal($"127.0.0.1:{_a.Port}", seen.Header("host"));
        foreach (var header in new[] { "cookie", "origin", "referer", "proxy-authorization", "authorization" })
        {
            Assert.False(seen.Header(header) is not null, header);
        }
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task BodiesCrossByteForByteBothWays(string engine)
    {
        int before = _a.Count;
        var (outcome, _) = await RunAsync(engine, """
            (async () => {
              const all = new Uint8Array(256).map((_, i) => i);
              const post = await fetch('$A/echo', { method: 'post', body: all, headers: { 'content-type': 'application/x-test' } });
              const bytes = new Uint8Array(await (await fetch('$A/bytes')).arrayBuffer());
              const json = await (await fetch('$A/json', { method: 'PUT', body: JSON.stringify({ ü: 'ü' }) })).json();
              const gz = await fetch('$A/gzip');
              return [await post.text(), bytes.length, bytes.every((b, i) => b === i), json, await gz.text()];
            })()
            """, _a.Origin);
        OutcomeAssert.Ok("[\"hello POST\",256,true,{\"a\":[1,2]},\"hello gzip\"]", outcome);
        var received = _a.Seen.Skip(before).ToList();
        Assert.Equal(Enumerable.Range(0, 256).Select(i => (byte)i), received[0].Body);
        Assert.Equal("application/x-test", received[0].Header("content-type"));
        Assert.Equal("256", received[0].Header("content-length"));
        Assert.Equal("PUT", received[2].Method);
        Assert.Equal("{\"ü\":\"ü\"}", Encoding.UTF8.GetString(received[2].Body));
        Assert.Equal("text/plain;charset=UTF-8", received[2].Header("content-type"));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task OriginsNotGrantedAreNeverRequested(string engine)
    {
        int a = _a.Count, b = _b.Count;
        var (outcome, elapsed) = await RunAsync(engine, Settle + """
            (async () => [
              await settle(fetch('$B/echo')),
              await settle(fetch('http://localhost:$PORT/echo')),
              await settle(fetch('http://127.0.0.2:$PORT/echo')),
              await settle(fetch('https://127.0.0.1:$PORT/echo')),
              await settle(fetch('http://[::ffff:7f00:1]:$PORT/echo')),
              await settle(fetch('http://user:pass@127.0.0.1:$PORT/echo')),
              await settle(fetch('file:///etc/passwd')),
              await settle(fetch('data:text/plain,x')),
              'the script goes on',
            ])()
            """, _a.Origin);
        OutcomeAssert.Status(OutcomeStatus.Ok, outcome);
        using var result = JsonDocument.Parse(outcome.ResultJson!);
        var rows = result.RootElement.EnumerateArray().ToList();
        for (int i = 0; i < 8; i++)
        {
            Assert.Equal("TypeError", rows[i][0].GetString());
        }
        Assert.Equal("the script goes on", rows[8].GetString());
        Assert.Equal(a, _a.Count);
        Assert.Equal(b, _b.Count);
        Assert.True(elapsed < MaxElapsed, $"took {elapsed}");
        await AssertHealthyAsync(engine);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task OtherSpellingsOfAGrantedAddressAreTheSameOrigin(string engine)
    {
        int a = _a.Count;
        var (outcome, _) = await RunAsync(engine, """
            (async () => [
              (await fetch('http://127.1:$PORT/json')).status,
              (await fetch('http://2130706433:$PORT/json')).status,
              (await fetch('HTTP://127.0.0.1:$PORT/./x/../json')).url,
            ])()
            """, _a.Origin);
        OutcomeAssert.Ok($"[200,200,\"{_a.Origin}/json\"]", outcome);
        Assert.Equal(a + 3, _a.Count);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task AHostnameThatResolvesToLoopbackIsRefusedAndSaysNoMoreThanAClosedPort(string engine)
    {
        int a = _a.Count;
        var (outcome, _) = await RunAsync(engine, Settle + """
            (async () => [await settle(fetch('$H/json')), await settle(fetch('$C/json'))])()
            """.Replace("$H", _hostname).Replace("$C", _closed), _hostname, _closed);
        OutcomeAssert.Status(OutcomeStatus.Ok, outcome);
        using var result = JsonDocument.Parse(outcome.ResultJson!);
        var refused = result.RootElement[0];
        var closed = result.RootElement[1];
        Assert.Equal("TypeError", refused[0].GetString());
        // One text for a refused address and a closed port: neither names an address or a port.
        Assert.Equal(refused.GetRawText(), closed.GetRawText());
        Assert.DoesNotContain("127.0.0.1", outcome.ToJson());
        Assert.DoesNotContain(_a.Port.ToString(), refused[1].GetString());
        Assert.Equal(a, _a.Count);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task ARedirectOutOfTheGrantIsNeverFollowed(string engine)
    {
        int b = _b.Count;
        var (outcome, _) = await RunAsync(engine, Settle + """
            (async () => {
              const out = [await settle(fetch('$A/redirect?to=' + encodeURIComponent('$B/echo')))];
              const manual = await fetch('$A/redirect?to=' + encodeURIComponent('$B/echo'), { redirect: 'manual' });
              out.push([manual.status, manual.headers.get('location')]);
              out.push(await settle(fetch('$A/redirect?to=' + encodeURIComponent('http://169.254.169.254/latest/meta-data/'))));
              out.push(await settle(fetch('$A/redirect?to=' + encodeURIComponent('file:///etc/passwd'))));
              out.push(await settle(fetch('$A/redirect?to=/json', { redirect: 'error' })));
              return out;
            })()
            """, _a.Origin);
        OutcomeAssert.Status(OutcomeStatus.Ok, outcome);
        using var result = JsonDocument.Parse(outcome.ResultJson!);
        var rows = result.RootElement;
        Assert.Equal("TypeError", rows[0][0].GetString());
        Assert.Equal($"[302,\"{_b.Origin}/echo\"]", rows[1].GetRawText());
        Assert.Equal("TypeError", rows[2][0].GetString());
        Assert.Equal("TypeError", rows[3][0].GetString());
        Assert.Equal("TypeError", rows[4][0].GetString());
        Assert.Equal(b, _b.Count);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task ARedirectToAnotherGrantedOriginCarriesNoSecretAndNoAuthorization(string engine)
    {
        int b = _b.Count, a = _a.Count;
        var (outcome, _) = await RunAsync(engine, """
            (async () => {
              const res = await fetch('$A/redirect?to=' + encodeURIComponent('$B/echo'), { headers: { Authorization: 'Bearer script-token' } });
              const same = await fetch('$A/redirect?to=/echo', { headers: { Authorization: 'Bearer script-token' } });
              return [res.status, res.redirected, res.url, await res.text(), same.url];
            })()
            """, _a.Origin, _b.Origin);
        OutcomeAssert.Ok($"[200,true,\"{_b.Origin}/echo\",\"hello GET\",\"{_a.Origin}/echo\"]", outcome);
        var atB = _b.Seen.Skip(b).Single();
        Assert.False(atB.Header("x-api-key") is not null);
        Assert.False(atB.Header("authorization") is not null);
        // Within the origin both stay.
        var atA = _a.Seen.Skip(a).Last();
        Assert.Equal("/echo", atA.RawTarget);
        Assert.Equal(Secret, atA.Header("x-api-key"));
        Assert.Equal("Bearer script-token", atA.Header("authorization"));
        Assert.Equal(4, outcome.Usage.HostCalls);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task RedirectsChangeTheMethodAsTheStandardSays(string engine)
    {
        int a = _a.Count;
        var (outcome, _) = await RunAsync(engine, """
            (async () => {
              const to = encodeURIComponent('/echo');
              const see = await fetch('$A/redirect?code=303&to=' + to, { method: 'POST', body: 'payload', headers: { 'content-type': 'text/plain' } });
              const temp = await fetch('$A/redirect?code=307&to=' + to, { method: 'POST', body: 'payload' });
              return [await see.text(), await temp.text()];
            })()
            """, _a.Origin);
        OutcomeAssert.Ok("[\"hello GET\",\"hello POST\"]", outcome);
        var received = _a.Seen.Skip(a).ToList();
        Assert.Equal(4, received.Count);
        Assert.Equal("GET", received[1].Method);
        Assert.Empty(received[1].Body);
        Assert.False(received[1].Header("content-type") is not null);
        Assert.Equal("POST", received[3].Method);
        Assert.Equal("payload", Encoding.UTF8.GetString(received[3].Body));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task ARedirectLoopIsBounded(string engine)
    {
        int a = _a.Count;
        var (outcome, elapsed) = await RunAsync(engine, Settle + "settle(fetch('$A/loop'))", _a.Origin);
        OutcomeAssert.Status(OutcomeStatus.Ok, outcome);
        Assert.StartsWith("[\"TypeError\"", outcome.ResultJson);
        // At most 20 redirects are followed: 21 requests.
        Assert.Equal(21, _a.Count - a);
        Assert.Equal(21, outcome.Usage.HostCalls);
        Assert.True(elapsed < MaxElapsed, $"took {elapsed}");
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task ForbiddenHeadersAndMethodsNeverLeave(string engine)
    {
        int a = _a.Count;
        var (outcome, _) = await RunAsync(engine, Settle + """
            (async () => {
              const headers = new Headers();
              for (const [n, v] of [['Host', 'evil.test'], ['Cookie', 'a=b'], ['Connection', 'close'], ['Transfer-Encoding', 'chunked'],
                  ['Content-Length', '5'], ['Proxy-Authorization', 'x'], ['Sec-Fetch-Mode', 'x'], ['Expect', '100-continue'],
                  ['Accept-Encoding', 'br'], ['Origin', 'https://evil.test'], ['Referer', 'https://evil.test'], ['X-Ok', 'fine']]) {
                headers.append(n, v);
              }
              const res = await fetch('$A/echo', { method: 'POST', body: 'abc', headers });
              return [res.status,
                await settle(fetch('$A/echo', { method: 'TRACE' })),
                await settle(fetch('$A/echo', { method: 'GET /x HTTP/1.1' })),
                await settle(fetch('$A/echo', { headers: { 'X-Bad': 'a\r\nInjected: 1' } })),
                await settle(fetch('$A/echo', { method: 'GET', body: 'x' })),
              ];
            })()
            """, _a.Origin);
        OutcomeAssert.Status(OutcomeStatus.Ok, outcome);
        using var result = JsonDocument.Parse(outcome.ResultJson!);
        Assert.Equal(200, result.RootElement[0].GetInt32());
        for (int i = 1; i <= 4; i++)
        {
            Assert.Equal("TypeError", result.RootElement[i][0].GetString());
        }
        var seen = _a.Seen.Skip(a).Single();
        Assert.Equal($"127.0.0.1:{_a.Port}", seen.Header("host"));
        Assert.Equal("fine", seen.Header("x-ok"));
        Assert.Equal("3", seen.Header("content-length"));
        foreach (var header in new[] { "cookie", "transfer-encoding", "proxy-authorization", "sec-fetch-mode", "expect", "origin", "referer", "injected" })
        {
            Assert.False(seen.Header(header) is not null, header);
        }
        Assert.NotEqual("close", seen.Header("connection"));
        Assert.NotEqual("br", seen.Header("accept-encoding"));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task HugeEndlessAndCompressedBombsStopAtTheResponseLimit(string engine)
    {
        var (outcome, elapsed) = await RunAsync(engine, Settle + """
            (async () => [
              await settle(fetch('$A/big-length')),
              await settle(fetch('$A/endless').then((r) => r.arrayBuffer())),
              await settle(fetch('$A/gzip-bomb').then((r) => r.arrayBuffer())),
            ])()
            """, _a.Origin);
        OutcomeAssert.Status(OutcomeStatus.Ok, outcome);
        using var result = JsonDocument.Parse(outcome.ResultJson!);
        foreach (var row in result.RootElement.EnumerateArray())
        {
            Assert.Equal("RangeError", row[0].GetString());
            Assert.Contains("maxFetchResponseBytes", row[1].GetString());
        }
        Assert.True(elapsed < MaxElapsed, $"took {elapsed}");
        await AssertHealthyAsync(engine);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task ASlowServerIsCutOffAtTheFetchTimeout(string engine)
    {
        int aborted = _a.AbortedCount;
        var (outcome, elapsed) = await RunAsync(engine, Settle + """
            (async () => {
              const t0 = Date.now();
              const out = [await settle(fetch('$A/slow-headers')), await settle(fetch('$A/slow-body').then((r) => r.text()))];
              return [out, Date.now() - t0];
            })()
            """, _a.Origin);
        OutcomeAssert.Status(OutcomeStatus.Ok, outcome);
        using var result = JsonDocument.Parse(outcome.ResultJson!);
        foreach (var row in result.RootElement[0].EnumerateArray())
        {
            Assert.Equal("RangeError", row[0].GetString());
            Assert.Contains("fetchTimeoutMs", row[1].GetString());
        }
        Assert.InRange(result.RootElement[1].GetDouble(), 2 * FetchTimeoutMs - 50, 2 * FetchTimeoutMs + 5000);
        Assert.True(elapsed < MaxElapsed, $"took {elapsed}");
        // The host let go of both requests.
        for (int i = 0; i < 50 && _a.AbortedCount < aborted + 2; i++)
        {
            await Task.Delay(100);
        }
        Assert.True(_a.AbortedCount >= aborted + 2, $"aborted {_a.AbortedCount - aborted}");
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task AFetchFloodIsHeldToTheHostCallLimits(string engine)
    {
        int a = _a.Count;
        var (outcome, elapsed) = await RunAsync(engine, """
            (async () => {
              const results = await Promise.allSettled(Array.from({ length: 200 }, () => fetch('$A/wait')));
              const names = {};
              for (const r of results) { const k = r.status === 'fulfilled' ? 'ok' : r.reason.name; names[k] = (names[k] || 0) + 1; }
              return names;
            })()
            """, _a.Origin);
        OutcomeAssert.Status(OutcomeStatus.Ok, outcome);
        using var result = JsonDocument.Parse(outcome.ResultJson!);
        int ok = result.RootElement.GetProperty("ok").GetInt32();
        Assert.Equal(MaxConcurrent, ok);
        Assert.Equal(200 - MaxConcurrent, result.RootElement.GetProperty("RangeError").GetInt32());
        Assert.Equal(ok, _a.Count - a);
        Assert.True(_a.MaxInFlight <= MaxConcurrent, $"{_a.MaxInFlight} at once");
        Assert.True(elapsed < MaxElapsed, $"took {elapsed}");
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task FetchesAfterTheResultSettledAreNeverSent(string engine)
    {
        int a = _a.Count;
        // Code still running in the turn that settled the result (a microtask chain past the settlement).
        var (outcome, _) = await RunAsync(engine, """
            (async () => {
              await fetch('$A/json');
              let p = Promise.resolve();
              for (let i = 0; i < 50; i++) p = p.then(() => {});
              p.then(() => { for (let i = 0; i < 3; i++) fetch('$A/json').catch(() => {}); });
              return 'done';
            })()
            """, _a.Origin);
        OutcomeAssert.Ok("\"done\"", outcome);
        await Task.Delay(300);
        Assert.Equal(a + 1, _a.Count);
        Assert.Equal(1, outcome.Usage.HostCalls);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task AnAbortSignalRejectsWithItsReason(string engine)
    {
        var (outcome, elapsed) = await RunAsync(engine, Settle + """
            (async () => {
              const before = new AbortController(); before.abort();
              const during = new AbortController(); setTimeout(() => during.abort(), 100);
              const t0 = Date.now();
              return [await settle(fetch('$A/json', { signal: before.signal })), await settle(fetch('$A/slow-headers', { signal: during.signal })),
                Date.now() - t0 < 1000];
            })()
            """, _a.Origin);
        OutcomeAssert.Status(OutcomeStatus.Ok, outcome);
        using var result = JsonDocument.Parse(outcome.ResultJson!);
        Assert.Equal("AbortError", result.RootElement[0][0].GetString());
        Assert.Equal("AbortError", result.RootElement[1][0].GetString());
        Assert.True(result.RootElement[2].GetBoolean());
        Assert.True(elapsed < MaxElapsed, $"took {elapsed}");
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task TheWorkerHoldsNoSocketWhileTheHostFetches(string engine)
    {
        var running = RunAsync(engine, "fetch('$A/slow-headers').catch((e) => e.name)", _a.Origin);
        // Wait until the host's request reached the server: the worker is then waiting for its answer.
        for (int i = 0; i < 100 && !_a.Seen.Any(r => r.RawTarget == "/slow-headers"); i++)
        {
            await Task.Delay(50);
        }
        var workers = WorkerProcessInspector.AllWorkers();
        Assert.NotEmpty(workers);
        foreach (int pid in workers)
        {
            var targets = Directory.GetFiles($"/proc/{pid}/fd").Select(f => new FileInfo(f).LinkTarget ?? "").ToList();
            Assert.DoesNotContain(targets, t => t.StartsWith("socket:", StringComparison.Ordinal));
        }
        var (outcome, _) = await running;
        OutcomeAssert.Ok("\"RangeError\"", outcome);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task TheHostHoldsNoMoreResponseBytesThanItsBudget(string engine)
    {
        // Two responses of 700 KiB, each within its own 1 MiB limit, against a sandbox-wide budget of 1 MiB. /held sends
        // all but its last byte and holds it; /second sends its 700 KiB while /held's bytes are still held, so it reads
        // past the budget and is refused; then /held finishes.
        var heldSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var body = new byte[700 << 10];
        await using var server = await CountingServer.StartAsync(async context =>
        {
            if (context.Request.Path == "/held")
            {
                context.Response.ContentLength = body.Length + 1;
                await context.Response.Body.WriteAsync(body);
                await context.Response.Body.FlushAsync();
                heldSent.TrySetResult();
                await secondDone.Task.WaitAsync(TimeSpan.FromSeconds(10));
                await context.Response.Body.WriteAsync(new byte[1]);
                return;
            }
            try
            {
                await heldSent.Task.WaitAsync(TimeSpan.FromSeconds(10));
                await Task.Delay(300);   // the host reads what /held sent
                context.Response.ContentLength = body.Length;
                await context.Response.Body.WriteAsync(body, context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
                await Task.Delay(500, context.RequestAborted);
            }
            finally
            {
                secondDone.TrySetResult();
            }
        });
        var options = new SandboxOptions { MaxWorkers = 1, SpareWorkers = 0 };
        options.Limits.MaxFetchResponseBytes = 1 << 20;
        options.Limits.MaxFetchBytesInFlight = 1 << 20;
        options.FetchOrigins.Add(server.Origin);
        await using var sandbox = new Sandbox(options);
        string code = Settle + $$"""
            (async () => {
              const read = (path) => settle(fetch('{{server.Origin}}' + path).then((r) => r.arrayBuffer()).then((b) => b.byteLength));
              return Promise.all([read('/held'), read('/second')]);
            })()
            """;
        var outcome = await sandbox.RunAsync(new Submission { Code = code, Engine = engine, FetchOrigins = [server.Origin] });
        OutcomeAssert.Status(OutcomeStatus.Ok, outcome);
        using var result = JsonDocument.Parse(outcome.ResultJson!);
        Assert.Equal((700 << 10) + 1, result.RootElement[0].GetInt32());
        Assert.Equal("RangeError", result.RootElement[1][0].GetString());
        Assert.Contains("maxFetchBytesInFlight", result.RootElement[1][1].GetString());
        // Every byte is given back once its reply is sent: the next execution reads a response near the budget.
        var again = await sandbox.RunAsync(new Submission
        {
            Code = $"fetch('{server.Origin}/held').then((r) => r.arrayBuffer()).then((b) => b.byteLength)",
            Engine = engine,
            FetchOrigins = [server.Origin],
        });
        OutcomeAssert.Ok(((700 << 10) + 1).ToString(), again);
    }

    [Fact]
    public async Task GrantsAreCheckedBeforeAnythingRuns()
    {
        async Task<Outcome> Run(string[] origins, string? key = null, IsolationUnit? unit = null, string? engine = null) =>
            await _sandbox.RunAsync(new Submission { Code = "1", FetchOrigins = origins, IsolationKey = key, IsolationUnit = unit, Engine = engine });

        var unregistered = await Run(["http://127.0.0.1:1"]);
        OutcomeAssert.Status(OutcomeStatus.InvalidRequest, unregistered);
        Assert.Equal("fetchOrigins", unregistered.Error!.Field);
        Assert.Equal(OutcomeStatus.InvalidRequest, (await Run(["http://127.0.0.9:1"])).Status);
        Assert.Equal(OutcomeStatus.Ok, (await Run(["http://127.0.0.9:1"], key: "tenant-a")).Status);
        Assert.Equal(OutcomeStatus.InvalidRequest, (await Run([_a.Origin, _a.Origin + "/"])).Status);
        Assert.Equal(OutcomeStatus.InvalidRequest, (await Run([_a.Origin], unit: IsolationUnit.Context)).Status);
        Assert.Equal(OutcomeStatus.InvalidRequest, (await Run(["not a url"])).Status);
        // Any spelling of a registered origin is that origin.
        Assert.Equal(OutcomeStatus.Ok, (await Run([$"HTTP://127.0.0.1:{_a.Port}/"])).Status);
    }

    [Fact]
    public void AnOperatorCannotRegisterWhatCouldNeverBeSafe()
    {
        var origins = new FetchOriginCollection();
        foreach (var bad in new[] { "http://localhost:8080", "http://user:pw@example.com", "http://example.com/path", "ftp://example.com",
            "http://example.com?q", "http://0.0.0.0", "http://[::]", "http://224.0.0.1", "http://exämple.com", "example.com" })
        {
            Assert.Throws<ArgumentException>(() => origins.Add(bad));
        }
        Assert.Throws<ArgumentException>(() => origins.Add("https://api.example.com", headers: [new("Host", "other.test")]));
        Assert.Throws<ArgumentException>(() => origins.Add("https://api.example.com", headers: [new("X-Key", "a\r\nb: c")]));
        Assert.Throws<ArgumentException>(() => origins.Add("https://api.example.com", headers: [new("X-Api-Key", "a"), new("x_api_key", "b")]));
        var registration = origins.Add("HTTPS://API.example.com:443/", headers: [new("X-Key", "v")]);
        Assert.Equal("https://api.example.com", registration.Origin);
        Assert.Equal(["X-Key"], registration.HeaderNames);
        Assert.Throws<ArgumentException>(() => origins.Add("https://api.example.com"));
    }
}
