using System.Collections;
using Warden.Hosting.Fetch;

namespace Warden;

/// <summary>
/// The origins an operator lets scripts <c>fetch</c> (<see cref="SandboxOptions.FetchOrigins"/>). Nothing here is
/// ambient: a script has a <c>fetch</c> global only when its submission grants origins (<see cref="Submission.FetchOrigins"/>),
/// and then reaches exactly those origins (scheme, host and port), each request made by the host, never by the worker.
/// A hostname origin is refused at connection time when it resolves to a loopback, private, link-local or other
/// special address; an origin whose host is an IP literal is the operator's explicit consent to that address.
/// </summary>
/// <example>
/// <code>
/// options.FetchOrigins.Add("https://api.example.com", headers: [new("X-Api-Key", secret)]);
/// </code>
/// </example>
public sealed class FetchOriginCollection : IEnumerable<FetchOriginRegistration>
{
    private readonly Dictionary<string, FetchOriginRegistration> _origins = new(StringComparer.Ordinal);

    /// <summary>The number of registered origins.</summary>
    public int Count => _origins.Count;

    /// <summary>Registers an origin scripts may be granted.</summary>
    /// <param name="origin">
    /// <c>http</c> or <c>https</c>, an ASCII host (punycode for international names) or an IP literal, and an
    /// optional port; a trailing <c>/</c> is allowed, nothing else (no user info, path, query or fragment).
    /// <c>localhost</c> is refused (grant <c>http://127.0.0.1:PORT</c> instead), as are unspecified, multicast
    /// and broadcast addresses.
    /// </param>
    /// <param name="headers">
    /// Headers the host adds to every request to this origin, after the script's own (these win): an API key,
    /// say. The script never sees them, and they never follow a redirect to another origin.
    /// </param>
    /// <param name="allowedIsolationKeys">
    /// The isolation keys whose submissions may be granted this origin; null (the default): any submission's.
    /// </param>
    /// <exception cref="ArgumentException">The origin is not a valid grant or already registered, a header is invalid, or a key is empty.</exception>
    public FetchOriginRegistration Add(string origin, IEnumerable<KeyValuePair<string, string>>? headers = null,
        IEnumerable<string>? allowedIsolationKeys = null)
    {
        ArgumentNullException.ThrowIfNull(origin);
        if (!FetchOrigin.TryParseGrant(origin, out string canonical, out string? problem))
        {
            throw new ArgumentException($"'{origin}' is not an origin that can be granted: {problem}", nameof(origin));
        }
        if (_origins.ContainsKey(canonical))
        {
            throw new ArgumentException($"The origin '{canonical}' is already registered.", nameof(origin));
        }
        var secret = new List<KeyValuePair<string, string>>();
        var folded = new HashSet<string>(StringComparer.Ordinal);
        foreach (var header in headers ?? [])
        {
            // SECURITY: servers fold case and '_' into '-' (CGI: HTTP_X_API_KEY): two names that fold alike are one
            // header there, and the host would replace one with the other.
            string name = header.Key ?? "";
            if (!folded.Add(name.ToLowerInvariant().Replace('_', '-')))
            {
                throw new ArgumentException($"A header for '{canonical}' cannot be added: {name} is the same header as another one given (case and '_' for '-' aside).", nameof(headers));
            }
            // SECURITY: the host's own rule for secret headers (FetchRequestRules): tokens and clean values only, and
            // none of the headers that frame or route the request.
            if (FetchRequestRules.SecretHeaderProblem(name, header.Value ?? "") is { } headerProblem)
            {
                throw new ArgumentException($"A header for '{canonical}' cannot be added: {headerProblem}.", nameof(headers));
            }
            secret.Add(header);
        }
        var keys = Hosting.AllowedIsolationKeys.From(allowedIsolationKeys, nameof(allowedIsolationKeys));
        var registration = new FetchOriginRegistration(canonical, secret, keys);
        _origins.Add(canonical, registration);
        return registration;
    }

    /// <summary>The registration of <paramref name="origin"/> (any spelling of it, say with a default port), or null.</summary>
    public FetchOriginRegistration? Find(string origin) =>
        origin is not null && FetchOrigin.TryParseGrant(origin, out string canonical, out _) ? _origins.GetValueOrDefault(canonical) : null;

    /// <inheritdoc/>
    public IEnumerator<FetchOriginRegistration> GetEnumerator() => _origins.Values.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal FetchOriginCollection Clone()
    {
        var copy = new FetchOriginCollection();
        foreach (var (origin, registration) in _origins)
        {
            copy._origins.Add(origin, registration);
        }
        return copy;
    }
}

/// <summary>One origin scripts may be granted: its canonical text, the operator's headers for it and who may be granted it.</summary>
public sealed class FetchOriginRegistration
{
    private readonly HashSet<string>? _allowedIsolationKeys;

    internal FetchOriginRegistration(string origin, IReadOnlyList<KeyValuePair<string, string>> headers, HashSet<string>? allowedIsolationKeys)
    {
        Origin = origin;
        Headers = headers;
        _allowedIsolationKeys = allowedIsolationKeys;
    }

    /// <summary>The origin, canonical: <c>scheme://host[:port]</c>, lower case, without a default port.</summary>
    public string Origin { get; }

    /// <summary>The headers the host adds to this origin's requests (never shown to scripts).</summary>
    internal IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

    /// <summary>The names of the operator's headers for this origin (their values stay internal).</summary>
    public IReadOnlyList<string> HeaderNames => [.. Headers.Select(h => h.Key)];

    /// <summary>The isolation keys that may be granted this origin; null: every submission, keyless ones included.</summary>
    public IReadOnlyCollection<string>? AllowedIsolationKeys => _allowedIsolationKeys;

    /// <summary>Whether a submission with this isolation key (null: keyless) may be granted the origin.</summary>
    public bool AllowsIsolationKey(string? isolationKey) =>
        Hosting.AllowedIsolationKeys.Allow(_allowedIsolationKeys, isolationKey);
}
