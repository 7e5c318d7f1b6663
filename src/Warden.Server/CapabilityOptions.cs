namespace Warden.Server;

/// <summary>
/// One origin scripts may fetch (configuration <c>Warden:Server:FetchOrigins:N</c>), granted per API key
/// (<see cref="ApiKeyOptions.FetchOrigins"/>). Registered in the sandbox's <see cref="SandboxOptions.FetchOrigins"/>.
/// </summary>
public sealed class FetchOriginOptions
{
    /// <summary><c>scheme://host[:port]</c>; see <see cref="FetchOriginCollection.Add"/> for what is refused.</summary>
    public string Origin { get; set; } = "";

    /// <summary>Headers the host adds to this origin's requests (an API key, say); scripts never see them.</summary>
    public Dictionary<string, string> Headers { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

/// <summary>
/// A webhook capability (configuration <c>Warden:Server:Webhooks:N</c>): HTTP callers cannot register .NET code,
/// so the operator names a URL instead. A script granted it calls <c>(await import('warden:host')).NAME(...args)</c>;
/// the server POSTs the JSON array of the arguments to <see cref="Url"/> and the call resolves with the JSON it
/// answers, under the host-call limits (count, concurrency, argument and result bytes, timeout).
/// </summary>
public sealed class WebhookOptions
{
    /// <summary>The function's name in <c>warden:host</c>: an ASCII JavaScript identifier of at most 64 characters.</summary>
    public string Name { get; set; } = "";

    /// <summary>
    /// Where the arguments are POSTed: an absolute http(s) URL chosen by the operator (it may be an internal service:
    /// the operator's choice, unlike a script's fetch). Redirects are not followed.
    /// </summary>
    public string Url { get; set; } = "";

    /// <summary>Headers sent with every call (an API key, say); scripts never see them.</summary>
    public Dictionary<string, string> Headers { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    internal IEnumerable<string> Validate(int index)
    {
        string at = $"Webhooks[{index}]";
        if (!HostFunctionCollection.IsValidName(Name))
        {
            yield return $"{at}.Name ('{Name}') must be an ASCII JavaScript identifier of at most {HostFunctionCollection.MaxNameLength} characters, neither 'then' nor 'default'.";
        }
        if (!Uri.TryCreate(Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.UserInfo.Length > 0)
        {
            yield return $"{at}.Url must be an absolute http:// or https:// URL without user info.";
        }
        foreach (var (name, value) in Headers ?? [])
        {
            if (HeaderProblem(name, value) is { } problem)
            {
                yield return $"{at}.Headers: {problem}.";
            }
        }
    }

    /// <summary>
    /// Headers that frame or route the request, or say what its body is: the caller's to set, never the operator's
    /// (<c>Proxy-*</c> too).
    /// </summary>
    private static readonly string[] CallersHeaders =
        ["Host", "Content-Length", "Content-Type", "Content-Encoding", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade", "TE", "Trailer", "Expect"];

    /// <summary>
    /// What is wrong with one of the operator's webhook headers, or null. SECURITY: a name that is not an HTTP token
    /// was dropped by HttpClient on every call (a secret header that never arrived); a value outside printable ASCII
    /// made every call fail; a framing header (<c>Content-Length</c>, <c>Transfer-Encoding</c>, <c>Host</c>) changed how
    /// the request was delimited or routed, and a second <c>Content-Type</c> what its JSON body was said to be. Each is
    /// refused at start (attack review). The value is never echoed: it is usually a secret.
    /// </summary>
    internal static string? HeaderProblem(string? name, string? value)
    {
        if (string.IsNullOrEmpty(name) || !name.All(IsTokenChar))
        {
            return $"the header name '{name}' is not an HTTP token";
        }
        if (value is null || value.Length == 0 || value[0] is ' ' or '\t' || value[^1] is ' ' or '\t'
            || value.Any(c => c is not ((>= '!' and <= '~') or ' ' or '\t')))
        {
            return $"the header {name} has an empty value or a character other than printable ASCII (or edge whitespace)";
        }
        if (Array.Exists(CallersHeaders, h => h.Equals(name, StringComparison.OrdinalIgnoreCase))
            || name.StartsWith("Proxy-", StringComparison.OrdinalIgnoreCase))
        {
            return $"the header {name} frames or routes the request (or types its JSON body), which is the server's to set";
        }
        return null;
    }

    /// <summary>RFC 9110 tchar.</summary>
    private static bool IsTokenChar(char c) =>
        c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9')
            or '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~';
}
