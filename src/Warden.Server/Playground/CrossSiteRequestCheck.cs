using Microsoft.AspNetCore.Http;

namespace Warden.Server;

/// <summary>
/// Refuses a browser's cross-origin request that could change anything (every method but GET, HEAD, OPTIONS and
/// TRACE: today <c>POST /v1/run</c>). SECURITY: running code is the side effect, and a page on another origin must not
/// cause it. Warden sends no CORS headers, so a JSON POST from elsewhere already dies at its preflight, but a "simple"
/// request (a form or a <c>text/plain</c> fetch) needs no preflight: it is sent, and only the 415 stands in its way.
/// This check does not lean on that: the request is refused from its headers alone, before anything reads its body.
/// Requests without <c>Origin</c> or <c>Sec-Fetch-Site</c> (curl, servers, SDKs) are not browsers' cross-site ones and
/// pass. A rebinding page sends a same-origin <c>Origin</c>: that attack is <see cref="HostAllowlist"/>'s to stop.
/// </summary>
internal static class CrossSiteRequestCheck
{
    /// <summary>Why the request is refused, or null when it may proceed.</summary>
    public static string? Problem(HttpRequest request)
    {
        if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)
            || HttpMethods.IsOptions(request.Method) || HttpMethods.IsTrace(request.Method))
        {
            return null;
        }
        // Fetch metadata (every current browser): "same-site" is refused too, since another port on localhost (a
        // development server running whatever npm installed) is the same site but not this server.
        string site = request.Headers["Sec-Fetch-Site"].ToString();
        if (site.Length > 0 && !site.Equals("same-origin", StringComparison.OrdinalIgnoreCase) && !site.Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            return "Cross-site requests are refused (Sec-Fetch-Site). Run scripts from this server's own page, or from a client that is not a browser.";
        }
        var origins = request.Headers.Origin;
        if (origins.Count == 0)
        {
            return null;
        }
        return origins.Count == 1 && IsOwnOrigin(origins.ToString(), request.Host)
            ? null
            : "Cross-origin requests are refused (Origin). Run scripts from this server's own page, or from a client that is not a browser.";
    }

    /// <summary>
    /// Whether <paramref name="origin"/> names the host and port the request was sent to. The scheme is not compared:
    /// behind a TLS-terminating proxy the request arrives over http while the page is https; the host and port are
    /// what the browser addressed, and only this server answers there. "null" (sandboxed frames, file: pages) is not.
    /// </summary>
    internal static bool IsOwnOrigin(string origin, HostString host)
    {
        if (!host.HasValue || !Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")
            || uri.AbsolutePath != "/" || origin.EndsWith('/') || uri.UserInfo.Length > 0)
        {
            return false;
        }
        int requestPort = host.Port ?? (uri.Scheme == "https" ? 443 : 80);
        return uri.Host.Equals(host.Host, StringComparison.OrdinalIgnoreCase) && uri.Port == requestPort;
    }
}
