namespace Warden.Hosting.Fetch;

/// <summary>
/// The host's own checks of a request's method and headers (design §4). SECURITY: the isolate drops forbidden
/// headers and refuses bad methods, but a compromised worker can send anything; these are the checks that count.
/// </summary>
internal static class FetchRequestRules
{
    /// <summary>At most this many request headers (the script's).</summary>
    public const int MaxHeaderCount = 128;

    /// <summary>At most this many bytes of request headers, counted as "name: value\r\n" (MaxFetchRequestHeaderBytes).</summary>
    public const int MaxHeaderBytes = 16 * 1024;

    /// <summary>The longest method accepted.</summary>
    public const int MaxMethodChars = 64;

    private static readonly string[] StandardMethods = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];

    private static readonly string[] ForbiddenMethods = ["CONNECT", "TRACE", "TRACK"];

    // Fetch's forbidden request header names: the host, the transport and the browser's own state are not the script's to set.
    private static readonly HashSet<string> ForbiddenHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Accept-Charset", "Accept-Encoding", "Access-Control-Request-Headers", "Access-Control-Request-Method",
        "Connection", "Content-Length", "Cookie", "Cookie2", "Date", "DNT", "Expect", "Host", "Keep-Alive", "Origin",
        "Permissions-Policy", "Referer", "Set-Cookie", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Via",
    };

    private static readonly string[] MethodOverrideHeaders = ["X-HTTP-Method", "X-HTTP-Method-Override", "X-Method-Override"];

    private const string TokenSymbols = "!#$%&'*+-.^_`|~";

    /// <summary>An RFC 9110 token: one or more of ALPHA, DIGIT and <c>!#$%&amp;'*+-.^_`|~</c>.</summary>
    public static bool IsToken(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return false;
        }
        foreach (char c in text)
        {
            if (!char.IsAsciiLetterOrDigit(c) && !TokenSymbols.Contains(c))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// A header value the host sends: visible ASCII, spaces and tabs, no edge whitespace. SECURITY: no NUL, CR or LF
    /// (request splitting); non-ASCII is refused rather than given an encoding here.
    /// </summary>
    public static bool IsValidValue(ReadOnlySpan<char> value)
    {
        foreach (char c in value)
        {
            if (c != '\t' && (c < ' ' || c > '~'))
            {
                return false;
            }
        }
        return value.IsEmpty || (!IsWhitespace(value[0]) && !IsWhitespace(value[^1]));
    }

    private static bool IsWhitespace(char c) => c is ' ' or '\t';

    /// <summary>The method to send: a token, not CONNECT/TRACE/TRACK, the six standard ones upper-cased (as fetch normalises them).</summary>
    public static string NormalizeMethod(string method)
    {
        if (method.Length > MaxMethodChars || !IsToken(method))
        {
            throw FetchErrors.Invalid("the method is not a valid HTTP method");
        }
        if (Array.Exists(ForbiddenMethods, m => m.Equals(method, StringComparison.OrdinalIgnoreCase)))
        {
            throw FetchErrors.Invalid($"the method {method.ToUpperInvariant()} is forbidden");
        }
        string? standard = Array.Find(StandardMethods, m => m.Equals(method, StringComparison.OrdinalIgnoreCase));
        return standard ?? method;
    }

    /// <summary>Checks the script's headers: names, values, count, bytes, and no forbidden header.</summary>
    public static void CheckHeaders(IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        if (headers.Count > MaxHeaderCount)
        {
            throw FetchErrors.Invalid($"more than {MaxHeaderCount} request headers");
        }
        long bytes = 0;
        foreach (var (name, value) in headers)
        {
            if (!IsToken(name))
            {
                throw FetchErrors.Invalid("a header name is not a valid HTTP token");
            }
            if (!IsValidValue(value))
            {
                throw FetchErrors.Invalid($"the value of the header {name} has a character that is not allowed");
            }
            bytes += name.Length + value.Length + 4;
            if (bytes > MaxHeaderBytes)
            {
                throw FetchErrors.Invalid($"the request headers are larger than {MaxHeaderBytes} bytes");
            }
            if (IsForbidden(name, value))
            {
                throw FetchErrors.Invalid($"the header {name} is forbidden");
            }
        }
    }

    /// <summary>
    /// Why an operator's secret header cannot be configured (null if it can): a valid name and value, and not a header
    /// that belongs to the transport. SECURITY: <c>Host</c> would move TLS validation to another name and
    /// <c>Content-Length</c>/<c>Transfer-Encoding</c>/<c>Connection</c> would desynchronise the request; only
    /// <c>Cookie</c> among the forbidden headers is allowed (an API session the operator holds).
    /// </summary>
    public static string? SecretHeaderProblem(string name, string value)
    {
        if (!IsToken(name))
        {
            return $"the secret header name '{name}' is not a valid HTTP token";
        }
        if (!IsValidValue(value))
        {
            return $"the value of the secret header {name} has a character that is not allowed (printable ASCII, no edge whitespace)";
        }
        if (!name.Equals("Cookie", StringComparison.OrdinalIgnoreCase) && IsForbidden(name, value))
        {
            return $"the header {name} cannot be a secret header (it belongs to the connection or the browser)";
        }
        return null;
    }

    /// <summary>Fetch's forbidden request header rule: the list, <c>Proxy-*</c>, <c>Sec-*</c>, and a method override naming a forbidden method.</summary>
    public static bool IsForbidden(string name, string value)
    {
        if (ForbiddenHeaders.Contains(name)
            || name.StartsWith("Proxy-", StringComparison.OrdinalIgnoreCase)
            || name.StartsWith("Sec-", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        // SECURITY: compared with '_' read as '-': servers that fold them (CGI, PHP, WSGI) honour X_HTTP_Method_Override
        // as the override, and a TRACE reflects the request, operator secret headers included, into the script's hands.
        if (Array.Exists(MethodOverrideHeaders, h => h.Equals(name.Replace('_', '-'), StringComparison.OrdinalIgnoreCase)))
        {
            foreach (string part in value.Split(','))
            {
                string method = part.Trim(' ', '\t');
                if (Array.Exists(ForbiddenMethods, m => m.Equals(method, StringComparison.OrdinalIgnoreCase)))
                {
                    return true;
                }
            }
        }
        return false;
    }
}
