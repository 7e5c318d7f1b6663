using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Warden.Server;

namespace Warden.Tests.Server;

/// <summary>`POST /v1/run` and the probes, over HTTP against the real service on loopback.</summary>
/// <remarks>In the "sandbox" collection: its hogs must not run beside the timing tests.</remarks>
[Collection("sandbox")]
public sealed class RunEndpointTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task ARunReturnsTheOutcomeObject()
    {
        var (status, body, response) = await server.PostAsync("""{ "code": "console.log('hi'); input.a * 2", "input": { "a": 21 }, "engine": "v8" }""");
        Assert.Equal(200, status);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(["status", "result", "console", "error", "usage", "engine"], body.EnumerateObject().Select(p => p.Name));
        Assert.Equal("ok", body.GetProperty("status").GetString());
        Assert.Equal(42, body.GetProperty("result").GetInt32());
        Assert.Equal("hi", body.GetProperty("console")[0].GetProperty("text").GetString());
    }

    [Theory]
    [InlineData("""{ "code": "throw new TypeError('x')" }""", "script_error")]
    [InlineData("""{ "code": "while (true) {}", "limits": { "timeoutMs": 300 } }""", "timeout")]
    [InlineData("""{ "code": "const a = []; for (;;) a.push(new Array(1e5).fill(1))", "limits": { "memoryMb": 32, "timeoutMs": 20000 } }""", "memory_limit")]
    [InlineData("""{ "code": "for (;;) console.log('x'.repeat(1000))" }""", "output_limit")]
    [InlineData("""{ "code": "export default (i) => i.n + 1", "module": true, "input": { "n": 1 } }""", "ok")]
    public async Task EveryScriptOutcomeIs200WithItsStatus(string request, string expected)
    {
        var (status, body, _) = await server.PostAsync(request);
        Assert.Equal(200, status);
        Assert.Equal(expected, body.GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("{nope", "$")]
    [InlineData("""{ "code": "1", "code": "2" }""", "code")]
    [InlineData("[1]", "$")]
    [InlineData("null", "$")]
    [InlineData("""{ "input": 1 }""", "code")]
    [InlineData("""{ "code": "1", "bogus": true }""", "bogus")]
    [InlineData("""{ "code": 1 }""", "code")]
    [InlineData("""{ "code": "1", "limits": { "timeoutMs": "5" } }""", "limits.timeoutMs")]
    [InlineData("""{ "code": "1", "limits": { "timeoutMs": 5, "extra": 1 } }""", "limits.extra")]
    [InlineData("""{ "code": "1", "limits": { "timeoutMs": 999999 } }""", "limits.timeoutMs")]
    [InlineData("""{ "code": "1", "limits": { "memoryMb": 1 } }""", "limits.memoryMb")]
    [InlineData("""{ "code": "1", "engine": "spidermonkey" }""", "engine")]
    [InlineData("""{ "code": "1", "limits": { "fuel": 1000 } }""", "limits.fuel")]
    [InlineData("""{ "code": "1", "engine": "quickjs", "limits": { "fuel": 0 } }""", "limits.fuel")]
    [InlineData("""{ "code": "1", "engine": "quickjs", "limits": { "fuel": -1 } }""", "limits.fuel")]
    [InlineData("""{ "code": "1", "engine": "quickjs", "limits": { "fuel": 1.5 } }""", "limits.fuel")]
    [InlineData("""{ "code": "1", "engine": "quickjs", "limits": { "fuel": 1e13 } }""", "limits.fuel")]
    [InlineData("""{ "code": "1", "engine": "quickjs", "limits": { "fuel": 10000000000000 } }""", "limits.fuel")]
    [InlineData("""{ "code": "1", "engine": "quickjs", "limits": { "fuel": 99999999999999999999 } }""", "limits.fuel")]
    [InlineData("""{ "code": "1", "engine": "quickjs", "limits": { "fuel": "5" } }""", "limits.fuel")]
    [InlineData("""{ "code": "1", "engine": "quickjs", "limits": { "fuel": null, "fuel": 5 } }""", "limits.fuel")]
    [InlineData("""{ "code": "1", "modules": {} }""", "modules")]
    [InlineData("""{ "code": "1", "module": true, "modules": [] }""", "modules")]
    [InlineData("""{ "code": "1", "module": true, "modules": { "warden:x": "1" } }""", "modules")]
    [InlineData("""{ "code": "1", "isolationKey": "" }""", "isolationKey")]
    [InlineData("""{ "code": "1", } """, "$")]
    public async Task AMalformedRequestIs400ProblemNamingTheField(string request, string field)
    {
        var response = await server.Client.PostAsync("/v1/run", ServerFixture.Json(request));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(400, problem.GetProperty("status").GetInt32());
        Assert.Equal(field, problem.GetProperty("field").GetString());
        Assert.DoesNotContain("   at ", problem.GetRawText());
    }

    [Fact]
    public async Task AnEngineTheSandboxDoesNotOfferIs400NamingTheOnesItDoes()
    {
        var (status, problem, _) = await server.PostAsync("""{ "code": "1", "engine": "spidermonkey" }""");
        Assert.Equal(400, status);
        Assert.Equal("engine", problem.GetProperty("field").GetString());
        Assert.Equal("engine 'spidermonkey' is not available; this sandbox offers: v8, quickjs", problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("""{ "code": "1", "limits": { "fuel": 1000 } }""", "limits.fuel: fuel is counted only by the quickjs engine (this submission runs on v8)")]
    [InlineData("""{ "code": "1", "engine": "v8", "limits": { "timeoutMs": 100, "fuel": 1000 } }""", "limits.fuel: fuel is counted only by the quickjs engine (this submission runs on v8)")]
    [InlineData("""{ "code": "1", "engine": "quickjs", "limits": { "fuel": 1000000000001 } }""", "limits.fuel must be between 1 and 1000000000000")]
    public async Task AFuelRefusalSaysWhy(string request, string detail)
    {
        var (status, problem, _) = await server.PostAsync(request);
        Assert.Equal(400, status);
        Assert.Equal("limits.fuel", problem.GetProperty("field").GetString());
        Assert.Equal(detail, problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task LimitsFuelReachesAQuickJsWorkerAndUsageFuelComesBack()
    {
        var directory = Directory.CreateTempSubdirectory("warden-fuel-").FullName;
        var (app, client) = await ServerFixture.StartAsync(s =>
            Warden.Tests.Protocol.FakeQuickJsWorker.Configure(s, directory, "\"fuel\":123456789", Warden.Tests.Protocol.FakeQuickJsWorker.FuelExhausted));
        try
        {
            var (status, body, _) = await server.PostAsync("""{ "code": "1", "engine": "quickjs", "limits": { "fuel": 123456789 } }""", client);
            Assert.Equal(200, status);
            Assert.Equal("timeout", body.GetProperty("status").GetString());
            Assert.Equal("fuel", body.GetProperty("error").GetProperty("limit").GetString());
            Assert.Equal(123456789, body.GetProperty("usage").GetProperty("fuel").GetInt64());
            Assert.Equal("quickjs", body.GetProperty("engine").GetString());
        }
        finally
        {
            client.Dispose();
            await app.StopAsync();
            await app.DisposeAsync();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task QuickJsUnderAKeyOfWarmContextsIs400()
    {
        var key = ApiKeyAuthenticator.NewKey();
        var (app, client) = await ServerFixture.StartAsync(s => s.MaxWorkers = 1,
            o => o.ApiKeys = [new ApiKeyOptions { Name = "warm", Sha256 = key.Sha256, IsolationUnit = IsolationUnit.Context }]);
        try
        {
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key.Token);
            var (status, problem, _) = await server.PostAsync("""{ "code": "1", "engine": "quickjs" }""", client);
            Assert.Equal(400, status);
            Assert.Equal("isolationUnit", problem.GetProperty("field").GetString());
            Assert.Equal("isolationUnit Context is not available on engine quickjs (it runs a fresh VM per execution)", problem.GetProperty("detail").GetString());
        }
        finally
        {
            client.Dispose();
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task TheEnginesOfferedAreTheSandboxs()
    {
        var (app, client) = await ServerFixture.StartAsync(s => { s.MaxWorkers = 1; s.EnableTestEngine = true; });
        try
        {
            var (status, problem, _) = await server.PostAsync("""{ "code": "1", "engine": "spidermonkey" }""", client);
            Assert.Equal(400, status);
            Assert.Equal("engine", problem.GetProperty("field").GetString());
            Assert.Equal("engine 'spidermonkey' is not available; this sandbox offers: v8, quickjs, test", problem.GetProperty("detail").GetString());
        }
        finally
        {
            client.Dispose();
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task AModuleProblemNamesTheModulesField()
    {
        var (status, problem, _) = await server.PostAsync("""{ "code": "1", "module": true, "modules": { "a.js": "1", "./a.js": "2" } }""");
        Assert.Equal(400, status);
        Assert.Equal("modules", problem.GetProperty("field").GetString());
        Assert.Equal("modules: './a.js' names the same module as another entry", problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("application/json; charset=utf-16")]
    [InlineData("application/json; charset=latin1")]
    [InlineData("application/json-patch+json")]
    [InlineData("text/plain")]
    public async Task OnlyUtf8JsonIsAccepted(string contentType)
    {
        var content = new ByteArrayContent("""{ "code": "1" }"""u8.ToArray());
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        var response = await server.Client.PostAsync("/v1/run", content);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task AUtf8ByteOrderMarkIsSkipped()
    {
        var content = new ByteArrayContent([0xEF, 0xBB, 0xBF, .. """{ "code": "40 + 2" }"""u8.ToArray()]);
        content.Headers.TryAddWithoutValidation("Content-Type", "application/json; charset=UTF-8");
        var response = await server.Client.PostAsync("/v1/run", content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"result\":42", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task BrokenChunkedFramingIs400WithoutAStackTrace()
    {
        // Raw HTTP over a socket: HttpClient cannot send broken chunk framing.
        var address = new Uri(server.Client.BaseAddress!, "/");
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port);
        var stream = tcp.GetStream();
        var request = "POST /v1/run HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n";
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(request));
        var buffer = new byte[8192];
        int read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        string response = System.Text.Encoding.ASCII.GetString(buffer, 0, read);
        Assert.StartsWith("HTTP/1.1 400", response);
        Assert.DoesNotContain("   at ", response);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task BinaryJunkIs400AndOversizedBodiesAre413BeforeBeingRead()
    {
        var junk = new ByteArrayContent(RandomJunk(4096));
        junk.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        Assert.Equal(HttpStatusCode.BadRequest, (await server.Client.PostAsync("/v1/run", junk)).StatusCode);

        // A body announced as one byte over the limit is refused from its headers, before it is read (a raw socket:
        // HttpClient would fail on the early reply while still sending).
        int limit = new ServerOptions().MaxRequestBodyBytes;
        string reply = await RawPostAsync(contentLength: limit + 1, bodyPrefix: "{\"code\":\"aaaa");
        Assert.StartsWith("HTTP/1.1 413", reply);
        Assert.Contains("application/problem+json", reply);
        // And one without a length (chunked) is cut off at the limit while it is read.
        var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes("{\"code\":\"" + new string('a', limit + 1) + "\"}")));
        chunked.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/run") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        try
        {
            var response = await server.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        }
        catch (HttpRequestException)
        {
            // The server answered 413 and closed while the client was still sending: also a refusal.
        }

        var text = new StringContent("{\"code\":\"1\"}", Encoding.UTF8, "text/plain");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await server.Client.PostAsync("/v1/run", text)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetAsync("/v1/nothing")).StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await server.Client.GetAsync("/v1/run")).StatusCode);
        await AssertStillServesAsync();
    }

    private async Task<string> RawPostAsync(int contentLength, string bodyPrefix)
    {
        var address = server.Client.BaseAddress!;
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port);
        var stream = tcp.GetStream();
        byte[] head = Encoding.ASCII.GetBytes($"POST /v1/run HTTP/1.1\r\nHost: {address.Authority}\r\nContent-Type: application/json\r\nContent-Length: {contentLength}\r\n\r\n{bodyPrefix}");
        await stream.WriteAsync(head);
        var buffer = new byte[8192];
        int n = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    private static byte[] RandomJunk(int length)
    {
        var bytes = new byte[length];
        new Random(42).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public async Task MetricsCountExecutionsAndShowThePool()
    {
        await server.PostAsync("""{ "code": "1" }""");
        await server.PostAsync("""{ "code": "while (true) {}", "limits": { "timeoutMs": 100 } }""");
        await server.PostAsync("""{ "code": "new ArrayBuffer(64 << 20); 1", "limits": { "memoryMb": 16 } }""");
        var response = await server.Client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        string text = await response.Content.ReadAsStringAsync();
        // The library's meter, published by prometheus-net's meter adapter: {meter}_{instrument}, dots as underscores,
        // counters as gauges (docs/telemetry.md).
        Assert.Matches(@"(?m)^warden_warden_executions\{warden_engine=""v8"",warden_execution_status=""ok""\} [1-9]", text);
        Assert.Matches(@"(?m)^warden_warden_executions\{warden_engine=""v8"",warden_execution_status=""timeout"",warden_limit=""(wall|cpu)""\} [1-9]", text);
        Assert.Matches(@"(?m)^warden_warden_executions\{warden_engine=""v8"",warden_execution_status=""memory_limit"",warden_limit=""[A-Za-z]+""\} [1-9]", text);
        Assert.Matches(@"(?m)^warden_warden_execution_duration_bucket\{warden_engine=""v8"",warden_execution_status=""ok"",le=""0.001""\} ", text);
        Assert.Matches(@"(?m)^warden_warden_execution_cpu_time_count\{warden_engine=""v8"",warden_execution_status=""ok""\} [1-9]", text);
        Assert.Matches(@"(?m)^warden_warden_execution_memory_peak_count\{[^}]*\} [1-9]", text);
        Assert.Matches(@"(?m)^warden_warden_execution_queue_duration_count\{warden_engine=""v8""\} [1-9]", text);
        Assert.Matches(@"(?m)^warden_warden_execution_queued 0", text);
        Assert.Matches(@"(?m)^warden_warden_workers\{warden_worker_state=""idle""\} [0-9]", text);
        Assert.Matches(@"(?m)^warden_warden_workers_started [1-9]", text);
        Assert.Matches(@"(?m)^warden_warden_workers_retired\{warden_worker_retire_reason=""limit_or_failure""\} [1-9]", text);
        Assert.DoesNotContain("while (true)", text); // no script source in metrics
    }

    [Fact]
    public async Task TheOpenApiDocumentDescribesTheRunEndpoint()
    {
        var document = JsonDocument.Parse(await server.Client.GetStringAsync("/openapi/v1.json")).RootElement;
        Assert.StartsWith("3.", document.GetProperty("openapi").GetString());
        var run = document.GetProperty("paths").GetProperty("/v1/run").GetProperty("post");
        Assert.True(run.GetProperty("requestBody").GetProperty("content").TryGetProperty("application/json", out var body));
        Assert.Contains("code", body.GetRawText() + document.GetProperty("components").GetRawText());
        var statuses = run.GetProperty("responses").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(["200", "400", "401", "413", "415", "429", "503"], statuses);
    }

    [Fact]
    public async Task AClientThatHangsUpDoesNotCostAWorker()
    {
        var sandbox = (Sandbox)server.App.Services.GetService(typeof(Sandbox))!;
        // Killed workers, as opposed to idle ones of other keys replaced to make room for "hang-up".
        long Killed() => sandbox.Statistics.WorkersRetired.Where(r => r.Key is "limit_or_failure" or "died").Sum(r => r.Value);
        long retiredBefore = Killed();
        using (var hangUp = new CancellationTokenSource(TimeSpan.FromMilliseconds(300)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => server.Client.PostAsync("/v1/run",
                ServerFixture.Json("""{ "code": "new Promise(r => setTimeout(() => r(1), 800))", "isolationKey": "hang-up" }"""), hangUp.Token));
        }
        // The execution runs to its end on its worker, which then serves the next request.
        await Task.Delay(1500);
        Assert.Equal(retiredBefore, Killed());
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task ProbesSayLiveAndReady()
    {
        Assert.Equal("ok", await server.Client.GetStringAsync("/healthz"));
        Assert.StartsWith("ready; every OS layer active", await server.Client.GetStringAsync("/readyz"));
    }

    [Fact]
    public async Task AWorkerKilledMidExecutionFailsOnlyThatRequest()
    {
        var sandbox = (Sandbox)server.App.Services.GetService(typeof(Sandbox))!;
        // An earlier test's execution may still run to its limit (a client that hung up): let it end,
        // so that the only busy worker is the victim's.
        for (int i = 0; i < 300 && sandbox.BusyWorkerPids.Count > 0; i++)
        {
            await Task.Delay(50);
        }
        var running = server.PostAsync("""{ "code": "while (true) {}", "limits": { "timeoutMs": 30000 }, "isolationKey": "victim" }""");
        int victim = 0;
        for (int i = 0; i < 200 && victim == 0; i++)
        {
            await Task.Delay(50);
            victim = sandbox.BusyWorkerPids.FirstOrDefault();
        }
        Assert.NotEqual(0, victim);
        Process.GetProcessById(victim).Kill();
        var (status, body, _) = await running;
        Assert.Equal(200, status);
        Assert.Equal("internal_error", body.GetProperty("status").GetString());
        Assert.StartsWith("ready; every OS layer active", await server.Client.GetStringAsync("/readyz"));
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task BenignRequestsKeepFlowingWhileHogsSpin()
    {
        var hogs = Enumerable.Range(0, 2).Select(i => server.PostAsync(
            $$"""{ "code": "while (true) {}", "limits": { "timeoutMs": 6000 }, "isolationKey": "hog{{i}}" }""")).ToList();
        await Task.Delay(300);
        // The benign key's first request may have to start a worker of its own (a new key never gets
        // another key's worker): on 2 cores with two hogs spinning that alone can take a second or two.
        var first = Stopwatch.StartNew();
        Assert.Equal(200, (await server.PostAsync("""{ "code": "0", "isolationKey": "benign" }""")).Status);
        Assert.True(first.Elapsed < TimeSpan.FromSeconds(3.5), $"first benign request: {first.Elapsed}");
        var latencies = new List<double>();
        for (int i = 0; i < 10; i++)
        {
            var clock = Stopwatch.StartNew();
            var (status, body, _) = await server.PostAsync("""{ "code": "JSON.stringify({ sum: input.a + input.b })", "input": { "a": 1, "b": 2 }, "isolationKey": "benign" }""");
            latencies.Add(clock.Elapsed.TotalMilliseconds);
            Assert.Equal(200, status);
            Assert.Equal("ok", body.GetProperty("status").GetString());
        }
        Assert.False(hogs.All(h => h.IsCompleted), "the hogs ended before the benign requests ran");
        latencies.Sort();
        // Generous bound: a benign request must not wait for a hog's 6 s limit.
        Assert.True(latencies[^1] < 2000, $"slowest benign request: {latencies[^1]:F0} ms");
        foreach (var hog in hogs)
        {
            Assert.Equal("timeout", (await hog).Body.GetProperty("status").GetString());
        }
    }

    private async Task AssertStillServesAsync()
    {
        var (status, body, _) = await server.PostAsync("""{ "code": "6 * 7" }""");
        Assert.Equal(200, status);
        Assert.Equal(42, body.GetProperty("result").GetInt32());
    }
}
