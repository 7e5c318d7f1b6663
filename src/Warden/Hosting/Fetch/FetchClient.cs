using System.Buffers;
using System.Net;
using System.Net.Http;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Warden.Hosting.Fetch;

/// <summary>
/// Makes one HTTP request for a script, safely (design §1, §4, §5). One per Sandbox: it owns the
/// <see cref="SocketsHttpHandler"/> (its connection pools), used through an <see cref="HttpMessageInvoker"/> (no
/// Timeout or BaseAddress traps, never buffers a body). SECURITY: every request is checked here again (URL
/// round-trip, origin granted to this execution, method, headers, body size), then sent once, redirects not
/// followed (the isolate follows them, each hop a new checked call). Every failure after the grant check is one
/// generic TypeError; details are logged on the host.
/// </summary>
internal sealed class FetchClient : IDisposable
{
    private static readonly int[] RedirectStatuses = [301, 302, 303, 307, 308];

    /// <summary>Fetch's null body statuses.</summary>
    private static readonly int[] NullBodyStatuses = [101, 103, 204, 205, 304];

    /// <summary>The response body is read in pieces of this size, and counted.</summary>
    private const int ReadPiece = 64 * 1024;

    private readonly HttpMessageInvoker _invoker;
    private readonly ILogger _logger;
    private readonly string _userAgent;

    public FetchClient(IFetchResolver resolver, ILogger logger)
        : this(resolver, logger, testHooks: null)
    {
    }

    /// <summary>TEST ONLY when <paramref name="testHooks"/> is given (see <see cref="FetchConnectorTestHooks"/>).</summary>
    internal FetchClient(IFetchResolver resolver, ILogger logger, FetchConnectorTestHooks? testHooks)
    {
        _logger = logger;
        Handler = CreateHandler(new FetchConnector(resolver, logger, testHooks));
        _invoker = new HttpMessageInvoker(Handler, disposeHandler: true);
        _userAgent = $"Warden/{typeof(FetchClient).Assembly.GetName().Version?.ToString(3) ?? "0.0.0"}";
    }

    /// <summary>The handler (tests check its configuration).</summary>
    internal SocketsHttpHandler Handler { get; }

    /// <summary>The User-Agent sent when the script set none.</summary>
    internal string DefaultUserAgent => _userAgent;

    internal static SocketsHttpHandler CreateHandler(FetchConnector connector) => new()
    {
        // SECURITY: no proxy. With one (HTTP(S)_PROXY, ALL_PROXY) ConnectCallback would vet only the proxy's address.
        UseProxy = false,
        Proxy = null,
        // SECURITY: no cookie jar shared between executions; no redirect followed here (each hop is a new checked call).
        UseCookies = false,
        AllowAutoRedirect = false,
        // SECURITY: never answer a 401 Negotiate/NTLM/Basic challenge with the host's identity.
        Credentials = null,
        DefaultProxyCredentials = null,
        PreAuthenticate = false,
        // The response cap counts decoded bytes (a gzip bomb stops at the cap).
        AutomaticDecompression = DecompressionMethods.All,
        // The default connect timeout is infinite.
        ConnectTimeout = TimeSpan.FromSeconds(10),
        // New connections re-resolve and re-check the addresses.
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        // SECURITY: no per-server connection cap and no single HTTP/2 connection. The pools are shared by every
        // execution of the Sandbox, so a cap made one execution's requests hanging on a slow endpoint (16 of them: two
        // executions at the default concurrency) queue every other execution's requests to that origin until their
        // own fetch timeout. What bounds connections is each execution's concurrency (MaxConcurrentHostCalls) and the
        // host-wide gate on outstanding host calls (MaxOutstandingHostCalls), a bound the operator sizes for all tenants.
        MaxConnectionsPerServer = int.MaxValue,
        EnableMultipleHttp2Connections = true,
        MaxResponseHeadersLength = 64, // KiB
        MaxResponseDrainSize = 64 * 1024,
        ResponseDrainTimeout = TimeSpan.FromSeconds(1),
        // ByteString semantics, as in browsers: any byte is one character, nothing fails to decode.
        ResponseHeaderEncodingSelector = (_, _) => Encoding.Latin1,
        // SECURITY: no traceparent/tracestate of the host's activities sent to a script's server.
        ActivityHeadersPropagator = null,
        // SECURITY: the only code that opens a socket. No custom certificate callback: default TLS validation.
        ConnectCallback = connector.ConnectAsync,
    };

    /// <summary>The host-call target of fetch for one execution: reads the frame, sends, writes the answer.</summary>
    public HostCallTarget TargetFor(FetchScope scope) => async (arguments, context, afterReply) =>
    {
        var request = FetchFrames.ReadRequest(arguments);
        // The body's share of the sandbox's budget is held until the reply carrying it is sent (or abandoned).
        var lease = scope.Budget?.NewLease();
        if (lease is not null)
        {
            afterReply.Add(lease.Release);
        }
        FetchResponse response;
        try
        {
            response = await SendAsync(request, scope, context.CancellationToken, lease).ConfigureAwait(false);
        }
        catch
        {
            // No body is held past a failure: its bytes go back at once, not when the error's reply is sent.
            lease?.Release();
            throw;
        }
        return FetchFrames.WriteResponse(response);
    };

    /// <summary>Checks one request against the scope and sends it once.</summary>
    /// <exception cref="HostCallRejectedException">Refused or failed (TypeError), or past a limit (RangeError).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <param name="request">The request as the isolate shaped it (every field checked again here).</param>
    /// <param name="scope">The execution's grants and limits.</param>
    /// <param name="cancellationToken">Cancelled at the fetch's timeout or the execution's end.</param>
    /// <param name="lease">The share of the sandbox's response-bytes budget the body is counted against; null: none (tests).</param>
    public async Task<FetchResponse> SendAsync(FetchRequest request, FetchScope scope, CancellationToken cancellationToken,
        FetchBodyBudget.Lease? lease = null)
    {
        using var message = BuildRequest(request, scope);
        string origin = message.Options.TryGetValue(OriginKey, out string? o) ? o : "";
        HttpResponseMessage? response = null;
        try
        {
            response = await _invoker.SendAsync(message, cancellationToken).ConfigureAwait(false);
            int status = (int)response.StatusCode;
            var headers = ResponseHeaders(response);
            // A HEAD or null-body status has no body whatever its Content-Length says; a 3xx body is not read when the
            // isolate follows redirects (the script never sees it).
            bool noBody = message.Method == HttpMethod.Head || Array.IndexOf(NullBodyStatuses, status) >= 0
                || (request.SkipRedirectBody && Array.IndexOf(RedirectStatuses, status) >= 0);
            ReadOnlyMemory<byte> body = noBody
                ? ReadOnlyMemory<byte>.Empty
                : await ReadBodyAsync(response.Content, scope.MaxResponseBytes, lease, cancellationToken).ConfigureAwait(false);
            return new FetchResponse(status, response.ReasonPhrase ?? "", headers, body);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (HostCallRejectedException)
        {
            throw;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException or System.Security.Authentication.AuthenticationException or InvalidOperationException
            or InvalidDataException)
        {
            // SECURITY: DNS, refused address, connect, TLS, protocol, headers too big, the connect timeout: one text.
            // InvalidDataException is a body that is not the gzip/deflate it declares (the server's doing, not the
            // host's): without it here it escaped as "The host function #fetch failed", an Error, not fetch's TypeError.
            FetchLog.Failed(_logger, origin, e);
            throw FetchErrors.Failed();
        }
        finally
        {
            response?.Dispose();
        }
    }

    private static readonly HttpRequestOptionsKey<string> OriginKey = new("Warden.Fetch.Origin");

    /// <summary>The request message, after every check (internal: tests check its version and headers).</summary>
    internal HttpRequestMessage BuildRequest(FetchRequest request, FetchScope scope)
    {
        // SECURITY: the host's own reading of the URL; the origin must be granted to this execution, exactly.
        if (!FetchOrigin.TryReadRequestUrl(request.Url, out Uri uri, out string origin))
        {
            throw FetchErrors.Invalid("the URL is not a valid http(s) URL");
        }
        if (!scope.Grants.TryGetValue(origin, out FetchOriginGrant? grant))
        {
            throw FetchErrors.NotGranted(origin);
        }
        string method = FetchRequestRules.NormalizeMethod(request.Method);
        FetchRequestRules.CheckHeaders(request.Headers);
        if (request.Body is not null && method is "GET" or "HEAD")
        {
            throw FetchErrors.Invalid($"a {method} request cannot have a body");
        }
        if (request.Body is { } bytes && bytes.Length > scope.MaxRequestBodyBytes)
        {
            throw FetchErrors.RequestBodyTooLarge(scope.MaxRequestBodyBytes);
        }
        var message = new HttpRequestMessage(new HttpMethod(method), uri)
        {
            // SECURITY: never HTTP/3 (QUIC does not go through ConnectCallback): h2 over TLS, 1.1 in cleartext.
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        try
        {
            message.Options.Set(OriginKey, origin);
            if (FetchOrigin.LiteralOf(uri) is { } literal)
            {
                // The gate above matched this literal origin to a grant: the connector may dial exactly this address.
                message.Options.Set(FetchConnector.GrantedLiteral, literal);
            }
            if (request.Body is not null)
            {
                message.Content = new ByteArrayContent(request.Body);
            }
            foreach (var (name, value) in request.Headers)
            {
                AddHeader(message, name, value);
            }
            // SECURITY: the operator's secret headers go only to a request whose own URL origin is theirs, after the
            // script's (the operator wins). A redirect elsewhere is a new call with that origin's secrets or none.
            foreach (var (name, value) in grant.SecretHeaders)
            {
                // Checked when the grant is configured; a bad one here is the host's bug (logged, generic to the script).
                if (FetchRequestRules.SecretHeaderProblem(name, value) is { } problem)
                {
                    throw new InvalidOperationException($"fetch grant {origin}: {problem}");
                }
                RemoveHeader(message, name);
                AddHeader(message, name, value);
            }
            if (!message.Headers.NonValidated.Contains("User-Agent"))
            {
                message.Headers.TryAddWithoutValidation("User-Agent", _userAgent);
            }
            if (!message.Headers.NonValidated.Contains("Accept"))
            {
                message.Headers.TryAddWithoutValidation("Accept", "*/*");
            }
            return message;
        }
        catch
        {
            message.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Removes a header wherever it is (Remove itself throws for a name of the other collection), under every spelling
    /// a server may read as the same name. SECURITY: CGI-style servers (PHP, WSGI/Rack, many proxies' upstreams) fold
    /// <c>-</c> and <c>_</c> into one variable (<c>X_Api_Key</c> and <c>X-Api-Key</c> are both <c>HTTP_X_API_KEY</c>):
    /// a script's <c>X_Api_Key</c> beside the operator's <c>X-Api-Key</c> could shadow it.
    /// </summary>
    private static void RemoveHeader(HttpRequestMessage message, string name)
    {
        foreach (var (present, _) in message.Headers.NonValidated.ToList())
        {
            if (SameFoldedName(present, name))
            {
                message.Headers.Remove(present);
            }
        }
        if (message.Content is { } content)
        {
            foreach (var (present, _) in content.Headers.NonValidated.ToList())
            {
                if (SameFoldedName(present, name))
                {
                    content.Headers.Remove(present);
                }
            }
        }
    }

    /// <summary>Whether two header names are one once case and the <c>-</c>/<c>_</c> difference are set aside.</summary>
    private static bool SameFoldedName(string a, string b)
    {
        if (a.Length != b.Length)
        {
            return false;
        }
        for (int i = 0; i < a.Length; i++)
        {
            char x = a[i] == '_' ? '-' : char.ToLowerInvariant(a[i]);
            char y = b[i] == '_' ? '-' : char.ToLowerInvariant(b[i]);
            if (x != y)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Adds a header where HttpClient wants it: request headers on the message, content headers on the content.</summary>
    private static void AddHeader(HttpRequestMessage message, string name, string value)
    {
        if (message.Headers.TryAddWithoutValidation(name, value))
        {
            return;
        }
        // A content header (Content-Type, Content-Language, ...): a request without a body gets an empty content.
        message.Content ??= new ByteArrayContent([]);
        if (!message.Content.Headers.TryAddWithoutValidation(name, value))
        {
            throw FetchErrors.Invalid($"the header {name} cannot be sent");
        }
    }

    /// <summary>All response and content headers, names lower-cased, except Set-Cookie/Set-Cookie2 (never shown to scripts).</summary>
    private static List<KeyValuePair<string, string>> ResponseHeaders(HttpResponseMessage response)
    {
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var (name, values) in response.Headers.NonValidated.Concat(response.Content.Headers.NonValidated))
        {
            string lower = name.ToLowerInvariant();
            if (lower is "set-cookie" or "set-cookie2")
            {
                continue;
            }
            foreach (string value in values)
            {
                headers.Add(new(lower, value));
            }
        }
        return headers;
    }

    /// <summary>
    /// Reads the decoded body in pieces, counting. SECURITY: a declared length above the cap is refused before any
    /// read; otherwise the read stops as soon as the count passes the cap, so an endless or decompression-bomb body
    /// costs at most about the cap in memory.
    /// </summary>
    private static async Task<ReadOnlyMemory<byte>> ReadBodyAsync(HttpContent content, long max, FetchBodyBudget.Lease? lease,
        CancellationToken cancellationToken)
    {
        if (content.Headers.ContentLength is long declared && declared > max)
        {
            throw FetchErrors.ResponseTooLarge(max);
        }
        using var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        // Pieces from the pool, copied once into an array of the exact size at the end: a body refused at the cap
        // costs the pieces read so far (returned to the pool), never a doubling buffer.
        var pieces = new List<(byte[] Piece, int Length)>();
        long total = 0;
        try
        {
            while (true)
            {
                byte[] piece = ArrayPool<byte>.Shared.Rent(ReadPiece);
                pieces.Add((piece, 0));
                int filled = 0;
                int read;
                while (filled < ReadPiece && (read = await stream.ReadAsync(piece.AsMemory(filled, ReadPiece - filled), cancellationToken).ConfigureAwait(false)) > 0)
                {
                    filled += read;
                    total += read;
                    if (total > max)
                    {
                        throw FetchErrors.ResponseTooLarge(max);
                    }
                    if (lease is not null && !lease.TryTake(read))
                    {
                        throw FetchErrors.HostBusy();
                    }
                }
                pieces[^1] = (piece, filled);
                if (filled < ReadPiece)
                {
                    break;
                }
            }
            var body = new byte[total];
            int offset = 0;
            foreach (var (piece, length) in pieces)
            {
                piece.AsSpan(0, length).CopyTo(body.AsSpan(offset));
                offset += length;
            }
            return body;
        }
        finally
        {
            foreach (var (piece, _) in pieces)
            {
                ArrayPool<byte>.Shared.Return(piece);
            }
        }
    }

    public void Dispose() => _invoker.Dispose();
}
