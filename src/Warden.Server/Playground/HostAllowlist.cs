using System.Net;
using Microsoft.AspNetCore.Http;

namespace Warden.Server;

/// <summary>
/// The <c>Host</c> values this server answers to: loopback names and addresses, and the operator's
/// <see cref="ServerOptions.AllowedHosts"/>.
/// SECURITY: this is the defence against DNS rebinding. A web page at <c>http://evil.example:8080</c> whose name the
/// attacker re-points at 127.0.0.1 reaches a loopback server as the browser's own same-origin request, so neither
/// CORS nor an <c>Origin</c> check sees anything foreign; only the <c>Host</c> header still names the attacker's
/// domain. ASP.NET Core's HostFiltering middleware (root key <c>AllowedHosts</c>) is not used: it answers with an empty
/// 400 rather than problem JSON, cannot say "any loopback address", and project templates ship
/// <c>"AllowedHosts": "*"</c>, which would silently switch this defence off in a copied appsettings.json.
/// </summary>
internal sealed class HostAllowlist
{
    private readonly HashSet<string> _configured;

    public HostAllowlist(ServerOptions options)
    {
        _configured = new HashSet<string>((options.AllowedHosts ?? []).Select(Normalized), StringComparer.OrdinalIgnoreCase);
        // SECURITY: a keyless server runs code for whoever reaches it, so a rebinding page would run code (and use the
        // configured fetch origins and webhooks, with the operator's secrets): always enforced. With API keys a
        // rebinding page has no key (the playground keeps it in the real origin's sessionStorage) and gets only the
        // public paths, while load balancers and probes reach keyed servers under names nobody listed: enforced only
        // when the operator lists names.
        Enforced = (options.ApiKeys?.Count ?? 0) == 0 || _configured.Count > 0;
    }

    /// <summary>Whether requests are checked at all (see the constructor).</summary>
    public bool Enforced { get; }

    /// <summary>
    /// Whether <paramref name="host"/> (the request's Host header) is acceptable. The port is not compared: a rebinding
    /// page cannot choose the name its requests carry, only the port, and port forwards (<c>ssh -L 9000:localhost:8080</c>)
    /// legitimately change it. An empty Host (HTTP/1.0) is accepted: browsers always send one.
    /// </summary>
    public bool Allows(HostString host)
    {
        if (!Enforced || !host.HasValue)
        {
            return true;
        }
        string name = host.Host;
        return IsLoopbackName(name) || _configured.Contains(Normalized(name));
    }

    /// <summary><c>localhost</c>, or an IP literal (IPv6 in brackets) in 127.0.0.0/8 or <c>::1</c>.</summary>
    internal static bool IsLoopbackName(string name) =>
        name.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(name.StartsWith('[') && name.EndsWith(']') ? name[1..^1] : name, out var address)
            && !name.Contains('%') && IPAddress.IsLoopback(address));

    /// <summary>What is wrong with one configured entry, or null: a DNS name or an IP literal, without scheme, port or wildcard.</summary>
    internal static string? EntryProblem(string? entry)
    {
        if (string.IsNullOrWhiteSpace(entry))
        {
            return "an entry is empty.";
        }
        if (entry.Contains('*'))
        {
            return $"'{entry}' has a wildcard; list exact host names (a wildcard would let a DNS-rebinding page's name through).";
        }
        string name = Normalized(entry);
        return Uri.CheckHostName(name.StartsWith('[') && name.EndsWith(']') ? name[1..^1] : name) == UriHostNameType.Unknown
            ? $"'{entry}' is not a host name or IP address (no scheme, port or path: e.g. warden.example.com)."
            : null;
    }

    private static string Normalized(string name) => name.Trim().TrimEnd('.');
}
