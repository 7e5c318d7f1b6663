using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Warden.Hosting.Fetch;

namespace Warden.Tests.Isolation;

/// <summary>
/// An attack review of fetch granted by origin (issue 15, slice 2), beyond what <see cref="FetchTests"/> and
/// Hosting/Fetch cover: what a script can make of a hostile server's answers, of built-ins it patched before fetch
/// serialised its frame or settled its promises, and of fetches that outlive their execution. Each test names the
/// attack; the ones that found a hole say so.
/// </summary>
[Collection("sandbox")]
public sealed class FetchAttackTests : IAsyncLifetime
{
    private const string Secret = "operator-secret-attack-91c2";
    private static readonly TimeSpan MaxElapsed = TimeSpan.FromSeconds(20);

    private CountingServer _a = null!;
    private CountingServer _b = null!;
    private Sandbox _sandbox = null!;

    public static TheoryData<string> Engines => new() { "v8", "quickjs" };

    public async Task InitializeAsync()
    {
        _a = await CountingServer.StartAsync(HandleAsync);
        _b = await CountingServer.StartAsync(HandleAsync);
        var options = new SandboxOptions { MaxWorkers = 2, SpareWorkers = 1 };
        // Long enough that an abort seen in the tests below can only be the end of the execution, not the fetch timeout.
        options.Limits.FetchTimeoutMs = 10_000;
        options.FetchOrigins.Add(_a.Origin, headers: [new("X-Api-Key", Secret)]);
        // Registered with the sandbox but never granted to the submissions below: a script must not reach it.
        options.FetchOrigins.Add(_b.Origin);
        _sandbox = new Sandbox(options, logger: null, fetchResolver: new Hosting.Fetch.FakeFetchResolver([IPAddress.Loopback]));
        await _sandbox.WarmUpAsync();
    }

    public async Task DisposeAsync()
    {
        await _sandbox.DisposeAsync();
        await _a.DisposeAsync();
        await _b.DisposeAsync();
    }

    private static async Task HandleAsync(HttpContext context)
    {
        var response = context.Response;
        switch (context.Request.Path.Value)
        {
            case "/json":
                response.ContentType = "application/json";
                await response.WriteAsync("{\"a\":1}");
                break;
            // A hostile (or broken) server: a body that claims a compression it does not have.
            case "/bad-gzip":
                response.Headers.ContentEncoding = "gzip";
                await response.WriteAsync("this is not gzip at all, just text pretending to be compressed");
                break;
            case "/bad-deflate":
                response.Headers.ContentEncoding = "deflate";
                await response.Body.WriteAsync(Enumerable.Repeat((byte)0xff, 64).ToArray());
                break;
            case "/bad-br":
                response.Headers.ContentEncoding = "br";
                await response.Body.WriteAsync(Enumerable.Repeat((byte)0xff, 64).ToArray());
                break;
            case "/slow-headers":
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
                break;
            default:
                response.StatusCode = 404;
                break;
        }
    }

    private async Task<(Outcome Outcome, TimeSpan Elapsed)> RunAsync(string engine, string code)
    {
        var clock = Stopwatch.StartNew();
        var outcome = await _sandbox.RunAsync(new Submission
        {
            Code = code.Replace("$A", _a.Origin).Replace("$B", _b.Origin),
            Engine = engine,
            FetchOrigins = [_a.Origin],
            Limits = new ExecutionLimits(TimeoutMs: 15_000),
        });
        return (outcome, clock.Elapsed);
    }

    private const string Settle = """
        const settle = (p) => p.then((r) => r, (e) => [e.name, e.message]);
        """;

    /// <summary>
    /// HOLE (fixed): a granted server answering with a body that is not the compression it declares (gzip, deflate)
    /// made .NET's decompressor throw InvalidDataException, which FetchClient did not treat as a network failure: the
    /// script saw <c>Error: The host function #fetch failed</c> (an Error, naming the reserved call, not fetch's
    /// TypeError) and the host logged it as a host function's failure. Now it is the one generic TypeError.
    /// </summary>
    [Theory]
    [MemberData(nameof(Engines))]
    public async Task ABodyThatIsNotItsDeclaredCompressionIsTheGenericTypeError(string engine)
    {
        var (outcome, elapsed) = await RunAsync(engine, Settle + """
            (async () => [
              await settle(fetch('$A/bad-gzip').then((r) => r.text())),
              await settle(fetch('$A/bad-deflate').then((r) => r.text())),
              await settle(fetch('$A/bad-br').then((r) => r.text())),
              (await fetch('$A/json')).status,
            ])()
            """);
        OutcomeAssert.Ok("[[\"TypeError\",\"Failed to fetch\"],[\"TypeError\",\"Failed to fetch\"],[\"TypeError\",\"Failed to fetch\"],200]", outcome);
        Assert.True(elapsed < MaxElapsed, $"took {elapsed}");
    }

    /// <summary>
    /// HELD: a script plants <c>Object.prototype.toJSON</c> and array-index setters before fetch serialises its frame,
    /// to read the frame (looking for the operator's secret) and rewrite it towards an origin it was not granted. The
    /// secret is never in the isolate, and whatever frame crosses, the host refuses an ungranted origin: B is never asked.
    /// </summary>
    [Theory]
    [MemberData(nameof(Engines))]
    public async Task APlantedToJsonOrIndexSetterCannotSteerAFrameOutOfTheGrant(string engine)
    {
        int a = _a.Count;
        var (outcome, _) = await RunAsync(engine, Settle + """
            let seen = '';
            Object.defineProperty(Object.prototype, 'toJSON', { configurable: true, value() {
              if (this !== null && typeof this === 'object' && typeof this.url === 'string') {
                seen += JSON.stringify(Object.entries(this)) + '|';
                return { url: '$B/json', method: 'GET', headers: [['X-Api-Key', 'x']], body: null, redirect: 'follow' };
              }
              return this;
            } });
            for (let i = 0; i < 4; i++) {
              Object.defineProperty(Array.prototype, i, { configurable: true, set(v) { seen += 'set ' + i + '|'; Object.defineProperty(this, i, { value: '$B/json', writable: true, enumerable: true, configurable: true }); } });
            }
            (async () => {
              const r = await settle(fetch('$A/json', { headers: { 'X-Test': '1' } }).then((res) => res.status));
              return [r, seen];
            })()
            """);
        OutcomeAssert.Status(OutcomeStatus.Ok, outcome);
        Assert.DoesNotContain(Secret, outcome.ToJson());
        Assert.Equal(0, _b.Count);
        // Either the frame crossed untouched (200 from A) or the host refused the steered one (TypeError, A not asked).
        using var result = JsonDocument.Parse(outcome.ResultJson!);
        var first = result.RootElement[0];
        if (first.ValueKind == JsonValueKind.Number)
        {
            Assert.Equal(200, first.GetInt32());
            Assert.Equal(a + 1, _a.Count);
        }
        else
        {
            Assert.Equal("TypeError", first[0].GetString());
            Assert.Equal(a, _a.Count);
        }
    }

    /// <summary>
    /// HELD: a script patches <c>Promise.prototype.then</c>, <c>Promise[Symbol.species]</c> and
    /// <c>Error.prepareStackTrace</c> before fetching, collects every function the prelude hands them and calls each with
    /// a forged frame and forged replies. None of them is a way out: no request reaches B, and the fetch itself still
    /// settles from the host's real answer.
    /// </summary>
    [Theory]
    [MemberData(nameof(Engines))]
    public async Task PatchedPromiseMachineryGetsNoWayToTheHost(string engine)
    {
        var (outcome, _) = await RunAsync(engine, Settle + """
            const caught = [];
            const then = Promise.prototype.then;
            Promise.prototype.then = function (...fns) { for (const f of fns) if (typeof f === 'function') caught.push(f); return then.apply(this, fns); };
            Object.defineProperty(Promise, Symbol.species, { configurable: true, get() { caught.push('species'); return Promise; } });
            Error.prepareStackTrace = (e, frames) => { caught.push(...frames.map((f) => f.getFunction && f.getFunction()).filter(Boolean)); return ''; };
            const forged = { url: '$B/json', method: 'GET', headers: [], body: null, redirect: 'follow' };
            (async () => {
              const status = (await fetch('$A/json')).status;
              await settle(fetch('$B/json'));
              Promise.prototype.then = then;
              let calls = 0;
              for (const f of caught) {
                if (typeof f !== 'function') continue;
                for (const arg of [forged, { id: 1, result: { status: 200, statusText: '', headers: [], body: '' } }, JSON.stringify(forged)]) {
                  try { const r = f(arg); calls++; if (r && typeof r.then === 'function') await settle(r); } catch { calls++; }
                }
              }
              return [status, calls > 0, typeof globalThis.__wardenHostFunctions];
            })()
            """);
        OutcomeAssert.Ok("[200,true,\"undefined\"]", outcome);
        Assert.Equal(0, _b.Count);
    }

    /// <summary>
    /// HELD: fetches that outlive their execution (the result settles while four requests hang on a server that never
    /// answers) are cancelled by the host at once: the server sees them aborted well before the fetch timeout (10 s here), and the
    /// next execution fetches at once (no host-call slot or pooled connection left held).
    /// </summary>
    [Theory]
    [MemberData(nameof(Engines))]
    public async Task FetchesOutlivingTheirExecutionAreCancelledAndHoldNothing(string engine)
    {
        int aborted = _a.AbortedCount;
        var (outcome, _) = await RunAsync(engine, """
            for (let i = 0; i < 4; i++) fetch('$A/slow-headers').catch(() => {});
            new Promise((resolve) => setTimeout(() => resolve('left'), 300))
            """);
        OutcomeAssert.Ok("\"left\"", outcome);
        var clock = Stopwatch.StartNew();
        while (_a.AbortedCount < aborted + 4 && clock.Elapsed < TimeSpan.FromSeconds(6))
        {
            await Task.Delay(20);
        }
        Assert.True(_a.AbortedCount >= aborted + 4, $"aborted {_a.AbortedCount - aborted} of 4 within {clock.Elapsed}");
        var (next, elapsed) = await RunAsync(engine, "(async () => (await fetch('$A/json')).json())()");
        OutcomeAssert.Ok("{\"a\":1}", next);
        Assert.True(elapsed < TimeSpan.FromSeconds(6), $"took {elapsed}");
    }

    /// <summary>
    /// HELD: the script names the operator's secret header itself in every spelling HttpClient might keep apart
    /// (case, a content header slot on a body-carrying request), hoping for two values on the wire or its own value
    /// winning. The server sees exactly the operator's one value.
    /// </summary>
    [Theory]
    [MemberData(nameof(Engines))]
    public async Task TheScriptCannotShadowOrDuplicateTheOperatorsSecretHeader(string engine)
    {
        int a = _a.Count;
        var (outcome, _) = await RunAsync(engine, """
            (async () => {
              const h = new Headers();
              h.append('x-api-key', 'mine-1');
              h.append('X-API-KEY', 'mine-2');
              const r1 = await fetch('$A/json', { headers: h });
              const r2 = await fetch('$A/json', { method: 'POST', body: 'x', headers: [['X-Api-Key', 'mine-3'], ['Content-Type', 'text/plain']] });
              return [r1.status, r2.status, r1.headers.has('x-api-key')];
            })()
            """);
        OutcomeAssert.Ok("[200,200,false]", outcome);
        foreach (var seen in _a.Seen.Skip(a))
        {
            Assert.Equal(Secret, seen.Header("x-api-key"));
            Assert.Single(seen.Headers["x-api-key"]);
        }
        Assert.DoesNotContain(Secret, outcome.ToJson());
    }

    /// <summary>
    /// HOLE (fixed): the script sends <c>X_Api_Key</c> beside the operator's <c>X-Api-Key</c>. Many servers (CGI, PHP,
    /// WSGI/Rack behind a proxy that passes underscores) fold <c>-</c> and <c>_</c> into one variable
    /// (<c>HTTP_X_API_KEY</c>), so the script's value could shadow the operator's, e.g. to replace an operator's
    /// tenant or identity header. The host now drops a script header that names an operator header under that folding.
    /// </summary>
    [Theory]
    [MemberData(nameof(Engines))]
    public async Task AnUnderscoreSpellingCannotShadowTheOperatorsHeader(string engine)
    {
        int a = _a.Count;
        var (outcome, _) = await RunAsync(engine, """
            (async () => {
              const r = await fetch('$A/json', { headers: [['X_Api_Key', 'mine'], ['x_api-KEY', 'mine2'], ['X-Other_Name', 'kept']] });
              return r.status;
            })()
            """);
        OutcomeAssert.Ok("200", outcome);
        var seen = Assert.Single(_a.Seen.Skip(a));
        Assert.Equal([Secret], seen.Headers["X-Api-Key"]);
        Assert.DoesNotContain(seen.Headers.Keys, k => k.Equals("X_Api_Key", StringComparison.OrdinalIgnoreCase) || k.Equals("x_api-key", StringComparison.OrdinalIgnoreCase));
        Assert.Equal("kept", seen.Header("X-Other_Name"));
    }

    /// <summary>
    /// HOLE (fixed): the one handler's pools are shared by every execution of the Sandbox, and it allowed 16 connections
    /// per server. Two executions of one tenant (8 concurrent fetches each, the default) hanging on a slow endpoint of a
    /// shared granted origin (a long poll, a streaming API) made every other execution's request to that origin queue
    /// for a connection until its own fetch timeout. The host-wide bound is the outstanding host-call gate; no
    /// per-server queue couples executions any more.
    /// </summary>
    [Fact]
    public async Task SlowRequestsOfOneExecutionDoNotQueueAnotherExecutionsRequests()
    {
        using var client = new FetchClient(new Warden.Tests.Hosting.Fetch.FakeFetchResolver(), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        Assert.True(FetchOrigin.TryParseGrant(_a.Origin, out string origin, out _));
        var scope = FetchScope.Of([new FetchOriginGrant(origin, [])], 1 << 20, 1 << 16);
        using var hog = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var hanging = Enumerable.Range(0, 24)
            .Select(_ => client.SendAsync(new FetchRequest(_a.Origin + "/slow-headers", "GET", [], null, true), scope, hog.Token))
            .ToList();
        var clock = Stopwatch.StartNew();
        while (_a.Seen.Count(s => s.RawTarget == "/slow-headers") < 16 && clock.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(20);
        }
        clock.Restart();
        using var victim = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        var answer = await client.SendAsync(new FetchRequest(_a.Origin + "/json", "GET", [], null, true), scope, victim.Token);
        Assert.Equal(200, answer.Status);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"waited {clock.Elapsed}");
        await hog.CancelAsync();
        foreach (var request in hanging)
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        }
    }

    /// <summary>
    /// HOLE (fixed, host side): the method-override headers naming TRACE were forbidden only as spelled with '-'. A
    /// server that folds '_' into '-' (CGI, PHP, WSGI: all read <c>HTTP_X_HTTP_METHOD_OVERRIDE</c>) honours
    /// <c>X_HTTP_Method_Override: TRACE</c>, and a TRACE answers with the request it received, the operator's secret
    /// headers included. The host now refuses the underscore spellings too; the ordinary spellings stay refused.
    /// </summary>
    [Theory]
    [InlineData("X_HTTP_Method_Override", "TRACE")]
    [InlineData("x_http_method", "GET, track")]
    [InlineData("X_Method-Override", "connect")]
    [InlineData("X-HTTP-Method-Override", "TRACE")]
    public async Task AMethodOverrideToTraceIsRefusedInEverySpellingAServerFolds(string name, string value)
    {
        using var client = new FetchClient(new Warden.Tests.Hosting.Fetch.FakeFetchResolver(), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        Assert.True(FetchOrigin.TryParseGrant(_a.Origin, out string origin, out _));
        var scope = FetchScope.Of([new FetchOriginGrant(origin, [new("X-Api-Key", Secret)])], 1 << 20, 1 << 16);
        int a = _a.Count;
        var e = await Assert.ThrowsAsync<Warden.Hosting.HostCallRejectedException>(() =>
            client.SendAsync(new FetchRequest(_a.Origin + "/json", "POST", [new(name, value)], [1], true), scope, CancellationToken.None));
        Assert.Equal("TypeError", e.ErrorName);
        Assert.Equal(a, _a.Count);
        // A harmless override still goes out.
        var ok = await client.SendAsync(new FetchRequest(_a.Origin + "/json", "POST", [new(name, "PATCH")], [1], true), scope, CancellationToken.None);
        Assert.Equal(200, ok.Status);
    }
}
