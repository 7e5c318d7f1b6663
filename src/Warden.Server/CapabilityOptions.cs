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
            if (string.IsNullOrEmpty(name) || value is null || name.Any(c => c <= ' ' || c >= '\u007f' || c == ':')
                || value.Any(c => c is '\0' or '\r' or '\n' || c > '\u00ff'))
            {
                yield return $"{at}.Headers: '{name}' is not a valid header.";
            }
        }
    }
}
