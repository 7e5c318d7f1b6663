using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Warden.Hosting;
using Warden.Hosting.Fetch;

namespace Warden.Tests.Hosting.Fetch;

/// <summary>
/// The host side of fetch against real loopback servers that count what they receive (design §7; the row numbers
/// are the table's). Attacks meet the real address policy; only the successful hostname test uses the test-only
/// "treat as public" seam.
/// </summary>
public sealed class FetchClientTests
{
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(10);
    private readonly RecordingLogger<FetchClient> _log = new();

    private static FetchScope Scope(params string[] grants) => ScopeOf(1 << 20, grants.Select(g => Grant(g)).ToArray());

    private static FetchScope ScopeOf(long maxResponseBytes, params FetchOriginGrant[] grants) => FetchScope.Of(grants, maxResponseBytes, 1 << 16);

    private static FetchOriginGrant Grant(string origin, params KeyValuePair<string, string>[] secrets)
    {
        Assert.True(FetchOrigin.TryParseGrant(origin, out string canonical, out string? problem), problem);
        return new FetchOriginGrant(canonical, secrets);
    }

    private static FetchRequest Get(string url, params KeyValuePair<string, string>[] headers) => new(url, "GET", headers, null, SkipRedirectBody: true);

    private static KeyValuePair<string, string> H(string name, string value) => new(name, value);

    private static CancellationToken Within() => new CancellationTokenSource(Slack).Token;

    private static async Task<HostCallRejectedException> RejectedAsync(Func<Task> send)
    {
        var watch = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<HostCallRejectedException>(send);
        Assert.True(watch.Elapsed < Slack, $"took {watch.Elapsed}");
        return e;
    }

    private static Task Hello(HttpContext c) => c.Response.WriteAsync("hello");

    [Fact]
    public async Task Row02_a_granted_literal_origin_gets_GET_and_POST_byte_for_byte()
    {
        await using var server = await CountingServer.StartAsync(c => { c.Response.Headers["X-Reply"] = "yes"; return Hello(c); });
        using var client = new FetchClient(new FakeFetchResolver(), _log);
        var scope = Scope(server.Origin);
        const string target = "/p/%41/%7e/|/x?q={a}|^`&b=%zz";

        var get = await client.SendAsync(new FetchRequest(server.Origin + target, "get", [], null, true), scope, Within());
        Assert.Equal(200, get.Status);
        Assert.Equal("OK", get.StatusText);
        Assert.Equal("hello", Encoding.UTF8.GetString(get.Body.Span));
        Assert.Contains(H("x-reply", "yes"), get.Headers);

        byte[] body = [.. Enumerable.Range(0, 256).Select(i => (byte)i)];
        var post = await client.SendAsync(new FetchRequest(server.Origin + "/submit", "post",
            [H("Content-Type", "application/octet-stream"), H("X-Custom", "a  b")], body, true), scope, Within());
        Assert.Equal(200, post.Status);

        Assert.Equal(2, server.Count);
        var seen = server.Seen.ToArray();
        Assert.Equal("GET", seen[0].Method);
        Assert.Equal(target, seen[0].RawTarget);
        Assert.Equal($"127.0.0.1:{server.Port}", seen[0].Header("Host"));
        Assert.Equal(client.DefaultUserAgent, seen[0].Header("User-Agent"));
        Assert.StartsWith("Warden/", client.DefaultUserAgent);
        Assert.Equal("*/*", seen[0].Header("Accept"));
        Assert.Equal("POST", seen[1].Method);
        Assert.Equal(body, seen[1].Body);
        Assert.Equal("256", seen[1].Header("Content-Length"));
        Assert.Equal("application/octet-stream", seen[1].Header("Content-Type"));
        Assert.Equal("a  b", seen[1].Header("X-Custom"));
        foreach (var request in seen)
        {
            Assert.DoesNotContain(request.Headers.Keys, k => k is "Cookie" or "Origin" or "Referer" or "traceparent" || k.StartsWith("Proxy-", StringComparison.OrdinalIgnoreCase));
        }
    }

    [Fact]
    public async Task Row02_the_script_may_set_its_own_User_Agent_and_Accept_and_a_custom_method()
    {
        await using var server = await CountingServer.StartAsync(Hello);
        using var client = new FetchClient(new FakeFetchResolver(), _log);
        await client.SendAsync(new FetchRequest(server.Origin + "/", "PATCH", [H("User-Agent", "mine/1"), H("Accept", "application/json")], [1], true), Scope(server.Origin), Within());
        var seen = Assert.Single(server.Seen);
        Assert.Equal("PATCH", seen.Method);
        Assert.Equal("mine/1", seen.Header("User-Agent"));
        Assert.Equal("application/json", seen.Header("Accept"));
    }

    [Fact]
    public async Task Row03_Row04_an_origin_not_granted_is_refused_and_never_requested()
    {
        await using var granted = await CountingServer.StartAsync(Hello);
        await using var other = await CountingServer.StartAsync(Hello);
        using var client = new FetchClient(new FakeFetchResolver([IPAddress.Loopback]), _log);
        var scope = Scope(granted.Origin);

        var e = await RejectedAsync(() => client.SendAsync(Get(other.Origin + "/"), scope, Within()));
        Assert.Equal("TypeError", e.ErrorName);
        Assert.Equal($"Failed to fetch: the origin {other.Origin} is not granted", e.Message);
        // localhost is another origin than 127.0.0.1 (and a grant of it is refused: FetchOriginTests).
        e = await RejectedAsync(() => client.SendAsync(Get($"http://localhost:{granted.Port}/"), scope, Within()));
        Assert.Contains("is not granted", e.Message);
        e = await RejectedAsync(() => client.SendAsync(Get($"https://127.0.0.1:{granted.Port}/"), scope, Within()));
        Assert.Contains("is not granted", e.Message);

        Assert.Equal(0, other.Count);
        Assert.Equal(0, granted.Count);
    }

    [Fact]
    public async Task Row22_a_pooled_connection_does_not_carry_a_grant_into_another_execution()
    {
        await using var server = await CountingServer.StartAsync(Hello);
        using var client = new FetchClient(new FakeFetchResolver(), _log);
        var first = Scope(server.Origin);
        var second = Scope("http://127.0.0.1:1");

        Assert.Equal(200, (await client.SendAsync(Get(server.Origin + "/"), first, Within())).Status);
        var e = await RejectedAsync(() => client.SendAsync(Get(server.Origin + "/"), second, Within()));

        Assert.Contains("is not granted", e.Message);
        Assert.Equal(1, server.Count);
    }

    public static TheoryData<string[]> SpecialAnswers => new()
    {
        { ["127.0.0.1"] }, { ["::1"] }, { ["::ffff:127.0.0.1"] }, { ["0.0.0.0"] }, { ["169.254.169.254"] },
        { ["100.100.100.200"] }, { ["fd00:ec2::254"] }, { ["64:ff9b::7f00:1"] }, { ["2002:7f00:1::"] }, { ["2001::80ff:fffe"] },
        { ["8.8.8.8", "127.0.0.1"] }, { ["2606:4700:4700::1111", "::1"] }, { [] },
    };

    [Theory]
    [MemberData(nameof(SpecialAnswers))]
    public async Task Row05_a_hostname_resolving_to_any_special_address_is_refused_and_never_dialled(string[] answer)
    {
        await using var server = await CountingServer.StartAsync(Hello);
        var resolver = new FakeFetchResolver([.. answer.Select(IPAddress.Parse)]);
        var dialled = new List<IPEndPoint>();
        using var client = new FetchClient(resolver, _log, new FetchConnectorTestHooks(BeforeDial: dialled.Add));
        string origin = $"http://granted.test:{server.Port}";

        var e = await RejectedAsync(() => client.SendAsync(Get(origin + "/"), Scope(origin), Within()));

        Assert.Equal("TypeError", e.ErrorName);
        Assert.Equal("Failed to fetch", e.Message);
        Assert.Equal(1, resolver.Calls);
        Assert.Equal(["granted.test"], resolver.Hosts);
        Assert.Empty(dialled);
        Assert.Equal(0, server.Count);
        Assert.Contains(_log.Lines, l => l.Message.Contains("SECURITY: fetch connection to granted.test refused", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Row06_a_hostname_is_resolved_once_per_connection_and_only_a_checked_address_is_dialled()
    {
        await using var server = await CountingServer.StartAsync(c =>
        {
            if (c.Request.Path == "/close")
            {
                c.Response.Headers.Connection = "close";
            }
            return Hello(c);
        });
        // Rebinding: a "public" answer (127.0.0.1 made public by the TEST-ONLY seam), then a loopback one (127.0.0.2,
        // which the real policy refuses).
        var resolver = new FakeFetchResolver([IPAddress.Loopback], [IPAddress.Parse("127.0.0.2")]);
        var dialled = new List<IPEndPoint>();
        var hooks = new FetchConnectorTestHooks(TreatAsPublic: a => a.Equals(IPAddress.Loopback), BeforeDial: dialled.Add);
        using var client = new FetchClient(resolver, _log, hooks);
        string origin = $"http://granted.test:{server.Port}";
        var scope = Scope(origin);

        var first = await client.SendAsync(Get(origin + "/"), scope, Within());
        var second = await client.SendAsync(Get(origin + "/close"), scope, Within());
        Assert.Equal(200, first.Status);
        Assert.Equal(200, second.Status);
        Assert.Equal(1, resolver.Calls); // one connection, one resolution
        Assert.Equal($"granted.test:{server.Port}", server.Seen.First().Header("Host"));

        // The connection closed: the next request resolves again, gets the rebound answer, and is refused.
        var e = await RejectedAsync(() => client.SendAsync(Get(origin + "/"), scope, Within()));
        Assert.Equal("Failed to fetch", e.Message);
        Assert.Equal(2, resolver.Calls);
        Assert.Equal(2, server.Count);
        Assert.Equal([new IPEndPoint(IPAddress.Loopback, server.Port)], dialled);
    }

    public static TheoryData<string> ForgedFrames => new()
    {
        """[{"url":"http://127.0.0.1.:{P}/","method":"GET","headers":[],"body":null,"redirect":"follow"}]""",
        """[{"url":"http:\\\\127.0.0.1:{P}\\x","method":"GET","headers":[],"body":null,"redirect":"follow"}]""",
        """[{"url":"http://127.0.0.1:{P}/#x","method":"GET","headers":[],"body":null,"redirect":"follow"}]""",
        """[{"url":"http://127.0.0.1:{P}/a b","method":"GET","headers":[],"body":null,"redirect":"follow"}]""",
        """[{"url":"http://127.0.0.1:{P}/\u00e9","method":"GET","headers":[],"body":null,"redirect":"follow"}]""",
        """[{"url":"http://u:p@127.0.0.1:{P}/","method":"GET","headers":[],"body":null,"redirect":"follow"}]""",
        """[{"url":"http://127.0.0.1:{P}@evil.test/","method":"GET","headers":[],"body":null,"redirect":"follow"}]""",
        """[{"url":"http://[::ffff:127.0.0.1]:{P}/","method":"GET","headers":[],"body":null,"redirect":"follow"}]""",
        """[{"url":"http://[::ffff:7f00:1]:{P}/","method":"GET","headers":[],"body":null,"redirect":"follow"}]""",
        """[{"url":"file:///etc/passwd","method":"GET","headers":[],"body":null,"redirect":"follow"}]""",
        """[{"url":"http://127.0.0.1:{P}/","method":"GET","headers":[["Host","evil.test"]],"body":null,"redirect":"follow"}]""",
        """[{"url":"http://127.0.0.1:{P}/","method":"GET","headers":[["X-A","1\r\nX-Injected: 1"]],"body":null,"redirect":"follow"}]""",
        """[{"url":"http://127.0.0.1:{P}/","method":"GET / HTTP/1.1","headers":[],"body":null,"redirect":"follow"}]""",
        """[{"url":"http://127.0.0.1:{P}/","method":"GET","headers":[],"body":"AA==","redirect":"follow"}]""",
        """[{"url":"http://127.0.0.1:{P}/","method":"GET","headers":[],"body":null,"redirect":"follow","proxy":"x"}]""",
        """[{"url":"http://127.0.0.1:{P}/","method":"GET","headers":[]}]""",
    };

    [Theory]
    [MemberData(nameof(ForgedFrames))]
    public async Task Row09_a_forged_frame_is_refused_by_the_host_and_never_sent(string frame)
    {
        await using var server = await CountingServer.StartAsync(Hello);
        using var client = new FetchClient(new FakeFetchResolver([IPAddress.Loopback]), _log);
        var target = client.TargetFor(Scope(server.Origin));
        using var arguments = JsonDocument.Parse(frame.Replace("{P}", server.Port.ToString(), StringComparison.Ordinal));
        var context = new HostCallContext("fetch", null, "e1", 1, Within());

        var e = await RejectedAsync(() => target(arguments.RootElement, context, new HostCallAfterReply()));

        Assert.Equal("TypeError", e.ErrorName);
        Assert.StartsWith("Failed to fetch", e.Message);
        Assert.Equal(0, server.Count);
    }

    [Fact]
    public async Task Row09_the_target_answers_a_good_frame_in_the_answer_shape()
    {
        await using var server = await CountingServer.StartAsync(c => { c.Response.StatusCode = 201; c.Response.ContentLength = 5; return Hello(c); });
        using var client = new FetchClient(new FakeFetchResolver(), _log);
        var target = client.TargetFor(Scope(server.Origin));
        using var arguments = JsonDocument.Parse($$"""[{"url":"{{server.Origin}}/x","method":"PUT","headers":[["Content-Type","text/plain"]],"body":"aGk=","redirect":"manual"}]""");

        var answer = await target(arguments.RootElement, new HostCallContext("fetch", null, "e1", 1, Within()), new HostCallAfterReply());

        Assert.Equal(201, (int)answer!["status"]!);
        Assert.Equal("Created", (string)answer["statusText"]!);
        Assert.Equal("aGVsbG8=", (string)answer["body"]!);
        Assert.Contains(answer["headers"]!.AsArray(), h => (string)h![0]! == "content-length" && (string)h[1]! == "5");
        Assert.Equal("hi"u8.ToArray(), Assert.Single(server.Seen).Body);
    }

    [Fact]
    public async Task Row11_operator_secret_headers_go_only_to_their_origin_and_never_into_the_response()
    {
        await using var b = await CountingServer.StartAsync(Hello);
        await using var a = await CountingServer.StartAsync(c =>
        {
            c.Response.StatusCode = 302;
            c.Response.Headers.Location = b.Origin + "/landed";
            return c.Response.WriteAsync("redirect body");
        });
        using var client = new FetchClient(new FakeFetchResolver(), _log);
        var scope = ScopeOf(1 << 20, Grant(a.Origin, H("X-Api-Key", "s3cret"), H("Authorization", "Bearer operator")), Grant(b.Origin));

        var hop = await client.SendAsync(Get(a.Origin + "/start", H("X-Api-Key", "script"), H("X-Script", "1")), scope, Within());
        Assert.Equal(302, hop.Status);
        Assert.True(hop.Body.IsEmpty); // redirect: 'follow' never reads a 3xx body
        Assert.Contains(H("location", b.Origin + "/landed"), hop.Headers);
        Assert.DoesNotContain(hop.Headers, h => h.Value.Contains("s3cret", StringComparison.Ordinal) || h.Value.Contains("operator", StringComparison.Ordinal));
        var atA = Assert.Single(a.Seen);
        Assert.Equal(["s3cret"], atA.Headers["X-Api-Key"]); // the operator wins over the script's value
        Assert.Equal("Bearer operator", atA.Header("Authorization"));
        Assert.Equal("1", atA.Header("X-Script"));

        // The isolate's next hop: a new call to B, which gets none of A's secrets.
        var landed = await client.SendAsync(Get(b.Origin + "/landed", H("X-Script", "1")), scope, Within());
        Assert.Equal(200, landed.Status);
        var atB = Assert.Single(b.Seen);
        Assert.Null(atB.Header("X-Api-Key"));
        Assert.Null(atB.Header("Authorization"));

        // redirect: 'manual' shows the 3xx body.
        var manual = await client.SendAsync(new FetchRequest(a.Origin + "/start", "GET", [], null, SkipRedirectBody: false), scope, Within());
        Assert.Equal("redirect body", Encoding.UTF8.GetString(manual.Body.Span));
    }

    [Fact]
    public async Task Row11_an_operator_content_header_replaces_the_scripts_on_the_content()
    {
        await using var server = await CountingServer.StartAsync(Hello);
        using var client = new FetchClient(new FakeFetchResolver(), _log);
        var scope = ScopeOf(1 << 20, Grant(server.Origin, H("Content-Type", "application/json")));

        await client.SendAsync(new FetchRequest(server.Origin + "/", "POST", [H("content-type", "text/plain")], "{}"u8.ToArray(), true), scope, Within());

        var seen = Assert.Single(server.Seen);
        Assert.Equal(["application/json"], seen.Headers["Content-Type"]);
        Assert.Equal("{}"u8.ToArray(), seen.Body);
    }

    public static TheoryData<string, string> ForbiddenHeaders => new()
    {
        { "Host", "evil.test" }, { "Cookie", "a=1" }, { "Connection", "close" }, { "Transfer-Encoding", "chunked" },
        { "Content-Length", "5" }, { "Proxy-Authorization", "Basic eA==" }, { "Sec-Fetch-Site", "none" }, { "Expect", "100-continue" },
        { "Accept-Encoding", "br" }, { "X-HTTP-Method-Override", "TRACE" }, { "X-Method-Override", "get, connect" }, { "origin", "http://x" },
        { "Referer", "http://x/" }, { "TE", "trailers" }, { "Upgrade", "h2c" }, { "Keep-Alive", "1" }, { "Via", "x" },
        // bad names and values
        { "X-A", "1\r\nX-Injected: 1" }, { "X-A", "1\nX" }, { "X-A", "a\0b" }, { "X-A", " lead" }, { "X-A", "trail\t" }, { "X-A", "caf\u00e9" },
        { "Bad Name", "1" }, { "X:A", "1" }, { "", "1" },
    };

    [Theory]
    [MemberData(nameof(ForbiddenHeaders))]
    public async Task Row14_a_forbidden_or_malformed_header_is_a_TypeError_and_never_sent(string name, string value)
    {
        await using var server = await CountingServer.StartAsync(Hello);
        using var client = new FetchClient(new FakeFetchResolver(), _log);

        var e = await RejectedAsync(() => client.SendAsync(Get(server.Origin + "/", H(name, value)), Scope(server.Origin), Within()));

        Assert.Equal("TypeError", e.ErrorName);
        Assert.Equal(0, server.Count);
    }

    [Theory]
    [InlineData("TRACE")]
    [InlineData("connect")]
    [InlineData("Track")]
    [InlineData("GET /x HTTP/1.1")]
    [InlineData("GET\r\n")]
    [InlineData("")]
    public async Task Row14_a_forbidden_or_malformed_method_is_a_TypeError_and_never_sent(string method)
    {
        await using var server = await CountingServer.StartAsync(Hello);
        using var client = new FetchClient(new FakeFetchResolver(), _log);

        var e = await RejectedAsync(() => client.SendAsync(new FetchRequest(server.Origin + "/", method, [], null, true), Scope(server.Origin), Within()));

        Assert.Equal("TypeError", e.ErrorName);
        Assert.Equal(0, server.Count);
    }

    [Fact]
    public async Task Row14_request_bodies_GET_with_a_body_and_a_body_over_the_cap_are_refused_and_never_sent()
    {
        await using var server = await CountingServer.StartAsync(Hello);
        using var client = new FetchClient(new FakeFetchResolver(), _log);
        var scope = Scope(server.Origin);

        var e = await RejectedAsync(() => client.SendAsync(new FetchRequest(server.Origin + "/", "get", [], [], true), scope, Within()));
        Assert.Equal("TypeError", e.ErrorName);
        e = await RejectedAsync(() => client.SendAsync(new FetchRequest(server.Origin + "/", "HEAD", [], [1], true), scope, Within()));
        Assert.Equal("TypeError", e.ErrorName);
        e = await RejectedAsync(() => client.SendAsync(new FetchRequest(server.Origin + "/", "POST", [], new byte[scope.MaxRequestBodyBytes + 1], true), scope, Within()));
        Assert.Equal("RangeError", e.ErrorName);
        Assert.Contains("maxFetchRequestBodyBytes", e.Message);
        e = await RejectedAsync(() => client.SendAsync(Get(server.Origin + "/", [.. Enumerable.Range(0, 20).Select(i => H($"X-{i}", new string('a', 1000)))]), scope, Within()));
        Assert.Equal("TypeError", e.ErrorName); // headers over 16 KiB

        Assert.Equal(0, server.Count);
        // At the cap exactly: sent.
        await client.SendAsync(new FetchRequest(server.Origin + "/", "POST", [], new byte[scope.MaxRequestBodyBytes], true), scope, Within());
        Assert.Equal(scope.MaxRequestBodyBytes, Assert.Single(server.Seen).Body.Length);
    }

    [Fact]
    public async Task Row15_Set_Cookie_never_reaches_the_script_and_no_cookie_is_sent_back()
    {
        await using var server = await CountingServer.StartAsync(c =>
        {
            c.Response.Headers.SetCookie = "session=abc; Path=/";
            c.Response.Headers["Set-Cookie2"] = "old=1";
            c.Response.Headers["X-Kept"] = "1";
            return Hello(c);
        });
        using var client = new FetchClient(new FakeFetchResolver(), _log);
        var scope = Scope(server.Origin);

        var first = await client.SendAsync(Get(server.Origin + "/"), scope, Within());
        await client.SendAsync(Get(server.Origin + "/again"), scope, Within());

        Assert.DoesNotContain(first.Headers, h => h.Key.StartsWith("set-cookie", StringComparison.Ordinal) || h.Value.Contains("abc", StringComparison.Ordinal));
        Assert.Contains(H("x-kept", "1"), first.Headers);
        Assert.All(first.Headers, h => Assert.Equal(h.Key.ToLowerInvariant(), h.Key));
        Assert.Equal(2, server.Count);
        Assert.All(server.Seen, s => Assert.Null(s.Header("Cookie")));
    }

    [Fact]
    public async Task Row16_a_declared_Content_Length_over_the_cap_is_a_RangeError_before_reading()
    {
        await using var server = await CountingServer.StartAsync(async c =>
        {
            c.Response.ContentLength = 1L << 30;
            await c.Response.Body.WriteAsync(new byte[1024], c.RequestAborted);
            await Task.Delay(Timeout.Infinite, c.RequestAborted).ContinueWith(_ => { });
        });
        using var client = new FetchClient(new FakeFetchResolver(), _log);
        var watch = Stopwatch.StartNew();

        var e = await RejectedAsync(() => client.SendAsync(Get(server.Origin + "/"), Scope(server.Origin), Within()));

        Assert.Equal("RangeError", e.ErrorName);
        Assert.Contains("maxFetchResponseBytes", e.Message);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3), $"took {watch.Elapsed}");
        Assert.Equal(1, server.Count);
    }

    [Fact]
    public async Task Row16_an_endless_chunked_body_is_a_RangeError_at_the_cap()
    {
        await using var server = await CountingServer.StartAsync(async c =>
        {
            var piece = new byte[64 * 1024];
            try
            {
                while (!c.RequestAborted.IsCancellationRequested)
                {
                    await c.Response.Body.WriteAsync(piece, c.RequestAborted);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException)
            {
            }
        });
        using var client = new FetchClient(new FakeFetchResolver(), _log);

        var e = await RejectedAsync(() => client.SendAsync(Get(server.Origin + "/"), Scope(server.Origin), Within()));

        Assert.Equal("RangeError", e.ErrorName);
        Assert.Contains("maxFetchResponseBytes", e.Message);
        await server.Aborted.Task.WaitAsync(Slack);
    }

    [Fact]
    public async Task Row16_a_gzip_bomb_stops_at_the_decoded_cap_with_allocation_far_below_its_size()
    {
        const long cap = 10 << 20;
        await using var server = await CountingServer.StartAsync(async c =>
        {
            c.Response.Headers.ContentEncoding = "gzip";
            var zeros = new byte[1 << 20];
            try
            {
                await using var gzip = new GZipStream(c.Response.Body, CompressionLevel.SmallestSize, leaveOpen: true);
                for (int i = 0; i < 1024; i++) // 1 GiB of zeros, compressed as it is sent
                {
                    await gzip.WriteAsync(zeros, c.RequestAborted);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
            {
            }
        });
        using var client = new FetchClient(new FakeFetchResolver(), _log);
        // Warm up (JIT, pools) so that the measure is of the bomb.
        await Assert.ThrowsAsync<HostCallRejectedException>(() => client.SendAsync(Get(server.Origin + "/"), ScopeOf(1 << 20, Grant(server.Origin)), Within()));
        long before = GC.GetTotalAllocatedBytes(precise: true);

        var e = await RejectedAsync(() => client.SendAsync(Get(server.Origin + "/"), ScopeOf(cap, Grant(server.Origin)), Within()));

        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.Equal("RangeError", e.ErrorName);
        Assert.Contains("maxFetchResponseBytes", e.Message);
        // Process-wide (the in-process server included): about the cap, never near the 1 GiB decoded.
        Assert.True(allocated < 4 * cap, $"allocated {allocated} bytes");
        Console.WriteLine($"gzip bomb: {allocated} bytes allocated for a {cap}-byte cap");
    }

    [Fact]
    public async Task Row16_a_MiB_of_response_headers_is_the_generic_TypeError()
    {
        await using var server = await CountingServer.StartAsync(c =>
        {
            string value = new('h', 1000);
            for (int i = 0; i < 1024; i++)
            {
                c.Response.Headers[$"X-H{i}"] = value;
            }
            return Hello(c);
        });
        using var client = new FetchClient(new FakeFetchResolver(), _log);

        var e = await RejectedAsync(() => client.SendAsync(Get(server.Origin + "/"), Scope(server.Origin), Within()));

        Assert.Equal("TypeError", e.ErrorName);
        Assert.Equal("Failed to fetch", e.Message);
        Assert.Equal(1, server.Count);
    }

    [Fact]
    public async Task Row17_headers_never_sent_cancellation_stops_the_request_promptly()
    {
        await using var server = await CountingServer.StartAsync(c => Task.Delay(Timeout.Infinite, c.RequestAborted).ContinueWith(_ => { }));
        using var client = new FetchClient(new FakeFetchResolver(), _log);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        var watch = Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.SendAsync(Get(server.Origin + "/"), Scope(server.Origin), timeout.Token));

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3), $"took {watch.Elapsed}");
        await server.Aborted.Task.WaitAsync(Slack);
        Assert.Equal(1, server.Count);
    }

    [Fact]
    public async Task Row17_a_body_at_one_byte_a_second_cancellation_stops_the_read_promptly()
    {
        await using var server = await CountingServer.StartAsync(async c =>
        {
            try
            {
                while (true)
                {
                    await c.Response.Body.WriteAsync(new byte[] { 42 }, c.RequestAborted);
                    await c.Response.Body.FlushAsync(c.RequestAborted);
                    await Task.Delay(1000, c.RequestAborted);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException)
            {
            }
        });
        using var client = new FetchClient(new FakeFetchResolver(), _log);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(1500));
        var watch = Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.SendAsync(Get(server.Origin + "/"), Scope(server.Origin), timeout.Token));

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(4), $"took {watch.Elapsed}");
        await server.Aborted.Task.WaitAsync(Slack);
    }

    [Fact]
    public async Task Row20_refused_address_connection_refused_and_TLS_failure_read_the_same()
    {
        await using var server = await CountingServer.StartAsync(Hello);
        int closedPort;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            closedPort = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        using var client = new FetchClient(new FakeFetchResolver([IPAddress.Loopback]), _log);
        string refusedAddress = $"http://granted.test:{server.Port}", closed = $"http://127.0.0.1:{closedPort}", tls = $"https://127.0.0.1:{server.Port}";
        var scope = Scope(refusedAddress, closed, tls);

        var errors = new List<HostCallRejectedException>();
        foreach (string origin in new[] { refusedAddress, closed, tls })
        {
            errors.Add(await RejectedAsync(() => client.SendAsync(Get(origin + "/"), scope, Within())));
        }

        Assert.All(errors, e =>
        {
            Assert.Equal("TypeError", e.ErrorName);
            Assert.Equal("Failed to fetch", e.Message);
        });
        Assert.Equal(0, server.Count);
        // The details are the host's: logged, with what went wrong.
        Assert.Equal(3, _log.Lines.Count(l => l.Message.Contains("the script saw only 'Failed to fetch'", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Row02_a_granted_IPv6_literal_origin_is_reached()
    {
        await using var server = await CountingServer.StartAsync(Hello, IPAddress.IPv6Loopback);
        using var client = new FetchClient(new FakeFetchResolver(), _log);
        string origin = $"http://[::1]:{server.Port}";

        var response = await client.SendAsync(Get(origin + "/v6"), Scope(origin), Within());

        Assert.Equal(200, response.Status);
        Assert.Equal($"[::1]:{server.Port}", Assert.Single(server.Seen).Header("Host"));
    }

    [Fact]
    public async Task Row01_the_connector_refuses_a_literal_that_is_not_the_granted_one_even_past_the_client()
    {
        // Defence in depth: a request that did not come through BuildRequest (no granted literal in its options),
        // or names another literal than the one granted, is refused by the connector itself.
        await using var server = await CountingServer.StartAsync(Hello);
        using var invoker = new HttpMessageInvoker(FetchClient.CreateHandler(new FetchConnector(new FakeFetchResolver(), _log)));

        using var bare = new HttpRequestMessage(HttpMethod.Get, server.Origin + "/");
        await Assert.ThrowsAsync<HttpRequestException>(() => invoker.SendAsync(bare, Within()));
        using var other = new HttpRequestMessage(HttpMethod.Get, server.Origin + "/");
        other.Options.Set(FetchConnector.GrantedLiteral, IPAddress.Parse("127.0.0.2"));
        await Assert.ThrowsAsync<HttpRequestException>(() => invoker.SendAsync(other, Within()));

        Assert.Equal(0, server.Count);
    }

    [Fact]
    public async Task Row17_a_resolver_that_never_answers_does_not_hold_the_request_past_its_cancellation()
    {
        using var client = new FetchClient(new HangingResolver(), _log);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var watch = Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.SendAsync(Get("http://granted.test/"), Scope("http://granted.test"), timeout.Token));

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3), $"took {watch.Elapsed}");
    }

    private sealed class HangingResolver : IFetchResolver
    {
        public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken) => new TaskCompletionSource<IPAddress[]>().Task;
    }

    [Theory]
    [InlineData("X-Api-Key", "k", null)]
    [InlineData("Cookie", "session=1", null)]
    [InlineData("Authorization", "Bearer t", null)]
    [InlineData("Host", "other.test", "cannot be a secret header")]
    [InlineData("Content-Length", "1", "cannot be a secret header")]
    [InlineData("X-A", "a\r\nB: 1", "not allowed")]
    [InlineData("Bad Name", "1", "not a valid HTTP token")]
    public void Operator_secret_headers_are_validated(string name, string value, string? problem)
    {
        string? found = FetchRequestRules.SecretHeaderProblem(name, value);
        if (problem is null)
        {
            Assert.Null(found);
        }
        else
        {
            Assert.Contains(problem, found);
        }
    }

    [Fact]
    public void Row23_the_handler_never_uses_a_proxy_cookies_credentials_or_redirects_and_requests_are_never_HTTP_3()
    {
        using var client = new FetchClient(new FakeFetchResolver(), _log);
        var handler = client.Handler;
        Assert.False(handler.UseProxy);
        Assert.Null(handler.Proxy);
        Assert.False(handler.UseCookies);
        Assert.False(handler.AllowAutoRedirect);
        Assert.Null(handler.Credentials);
        Assert.False(handler.PreAuthenticate);
        Assert.Null(handler.ActivityHeadersPropagator);
        Assert.NotNull(handler.ConnectCallback);
        Assert.Equal(DecompressionMethods.All, handler.AutomaticDecompression);
        Assert.Equal(TimeSpan.FromSeconds(10), handler.ConnectTimeout);
        Assert.Equal(64, handler.MaxResponseHeadersLength);

        using var request = client.BuildRequest(Get("https://api.example.com/x"), Scope("https://api.example.com"));
        Assert.Equal(HttpVersion.Version20, request.Version);
        Assert.Equal(HttpVersionPolicy.RequestVersionOrLower, request.VersionPolicy);
        Assert.False(request.Options.TryGetValue(FetchConnector.GrantedLiteral, out _)); // a hostname: classified, not granted by literal
        using var literal = client.BuildRequest(Get("http://127.0.0.1:8080/"), Scope("http://127.0.0.1:8080"));
        Assert.True(literal.Options.TryGetValue(FetchConnector.GrantedLiteral, out var granted));
        Assert.Equal(IPAddress.Loopback, granted);
    }
}
