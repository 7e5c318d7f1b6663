using System.Net;

namespace Warden.Hosting.Fetch;

/// <summary>
/// Origins as fetch compares them: an operator's grant, validated and made canonical, and the origin of a request URL
/// as the isolate serialised it (design §2, §3). Both produce the same text for the same origin,
/// <c>scheme://host[:port]</c> (default port omitted, lower case, IPv6 in brackets, IPv4 dotted), and grants are
/// compared to it ordinally.
/// </summary>
internal static class FetchOrigin
{
    /// <summary>The longest request URL accepted (MaxFetchUrlChars).</summary>
    public const int MaxUrlChars = 8 * 1024;

    private static readonly UriCreationOptions VerbatimPathAndQuery = new() { DangerousDisablePathAndQueryCanonicalization = true };

    /// <summary>
    /// Reads a request URL that the isolate's WHATWG parser serialised (fragment removed). SECURITY: the host never
    /// parses script input, only this href, and only if System.Uri reads the very same scheme, host and port out of
    /// it: anything the two parsers read differently (<c>127.0.0.1.</c>, backslashes, mapped IPv6, zone ids,
    /// <c>a..b</c>, percent-encoded or Unicode hosts, userinfo) fails the prefix test or an earlier one. Path and
    /// query go out byte for byte (no System.Uri canonicalisation), as a browser sends them.
    /// </summary>
    public static bool TryReadRequestUrl(string? href, out Uri uri, out string origin)
    {
        uri = null!;
        origin = "";
        // SECURITY: printable ASCII only (the WHATWG serialiser percent-encodes everything else): no spaces, controls,
        // Unicode hosts; no fragment (System.Uri would keep it in PathAndQuery and send it).
        if (href is null || href.Length == 0 || href.Length > MaxUrlChars || href.AsSpan().ContainsAnyExceptInRange('!', '~') || href.Contains('#'))
        {
            return false;
        }
        if (!Uri.TryCreate(href, in VerbatimPathAndQuery, out Uri? parsed) || !parsed.IsAbsoluteUri
            || parsed.Scheme is not ("http" or "https") || parsed.UserInfo.Length != 0
            || parsed.HostNameType is not (UriHostNameType.Dns or UriHostNameType.IPv4 or UriHostNameType.IPv6))
        {
            return false;
        }
        // SECURITY: a hostname whose last label is a number is an IPv4 address to WHATWG (or an error): System.Uri
        // would resolve it as a name (getaddrinfo reads "127.0.0.1." and "1.2.3.4.5"-like forms its own way).
        if (parsed.HostNameType == UriHostNameType.Dns && EndsInNumber(parsed.Host))
        {
            return false;
        }
        // WHATWG prints an IPv6 address in hex only (::ffff:7f00:1); System.Uri prints an embedded IPv4 dotted. A
        // dotted form is therefore never a WHATWG href (and mapped/compatible forms can never be granted).
        if (parsed.HostNameType == UriHostNameType.IPv6 && parsed.Host.Contains('.'))
        {
            return false;
        }
        string read = OriginOf(parsed);
        if (href.Length <= read.Length || !href.StartsWith(read, StringComparison.Ordinal) || href[read.Length] != '/')
        {
            return false;
        }
        uri = parsed;
        origin = read;
        return true;
    }

    /// <summary>
    /// Validates an operator's granted origin and makes it canonical. Refused (with the reason and what to grant
    /// instead): userinfo, a path other than <c>/</c>, a query or fragment, schemes other than http/https,
    /// non-ASCII hosts, zone ids, a numeric last label that is not a canonical IPv4, mapped/compatible IPv6,
    /// <c>0.0.0.0</c>/<c>::</c>, multicast, broadcast, and <c>localhost</c>/<c>*.localhost</c>.
    /// </summary>
    public static bool TryParseGrant(string? text, out string origin, out string? problem)
    {
        origin = "";
        problem = Problem(text);
        if (problem is not null)
        {
            return false;
        }
        var uri = new Uri(text!, UriKind.Absolute);
        string canonical = OriginOf(uri);
        // The grant must be exactly what a request URL of that origin reads as, or no request could ever match it.
        if (!TryReadRequestUrl(canonical + "/", out _, out string readBack) || readBack != canonical)
        {
            problem = $"the origin '{text}' is not read back the same from a URL (its host is unusual); grant the host as a browser writes it";
            return false;
        }
        origin = canonical;
        return true;
    }

    private static string? Problem(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "an empty origin; grant scheme://host[:port], e.g. https://api.example.com";
        }
        if (text.AsSpan().ContainsAnyExceptInRange('!', '~'))
        {
            return $"the origin '{text}' has a character other than printable ASCII (spaces, Unicode); write an internationalised host in punycode (xn--...)";
        }
        if (text.Contains('#') || text.Contains('?'))
        {
            return $"the origin '{text}' has a query or fragment; grant only scheme://host[:port]";
        }
        if (!Uri.TryCreate(text, UriKind.Absolute, out Uri? uri))
        {
            return $"'{text}' is not an absolute URL; grant scheme://host[:port], e.g. https://api.example.com";
        }
        if (uri.Scheme is not ("http" or "https"))
        {
            return $"the origin '{text}' has the scheme {uri.Scheme}; only http and https can be granted";
        }
        if (uri.UserInfo.Length != 0)
        {
            return $"the origin '{text}' has user information; grant the origin without it (send credentials as a secret header)";
        }
        if (uri.AbsolutePath != "/")
        {
            return $"the origin '{text}' has a path; grants are by origin, grant scheme://host[:port] only";
        }
        switch (uri.HostNameType)
        {
            case UriHostNameType.IPv4:
                return Ipv4Problem(text, IPAddress.Parse(uri.Host));
            case UriHostNameType.IPv6:
                if (text.Contains('%'))
                {
                    return $"the origin '{text}' has an IPv6 zone id; zone ids cannot be granted (a URL cannot carry one)";
                }
                return Ipv6Problem(text, IPAddress.Parse(uri.Host.AsSpan().Trim("[]")));
            case UriHostNameType.Dns:
                string host = uri.Host.TrimEnd('.');
                if (host == "localhost" || host.EndsWith(".localhost", StringComparison.Ordinal))
                {
                    return $"the origin '{text}' names localhost, which fetch never resolves (a hostname must resolve to public addresses); grant http://127.0.0.1:PORT (or http://[::1]:PORT) instead";
                }
                if (EndsInNumber(uri.Host))
                {
                    return $"the origin '{text}' ends in a number but is not a canonical IPv4 address; write the address as four decimal numbers (a.b.c.d)";
                }
                return null;
            default:
                return $"the origin '{text}' has a host that is not a domain name or an IP address";
        }
    }

    private static string? Ipv4Problem(string text, IPAddress address)
    {
        byte[] b = address.GetAddressBytes();
        if (address.Equals(IPAddress.Any))
        {
            return $"the origin '{text}' is 0.0.0.0, which is not a destination; grant http://127.0.0.1:PORT for this machine";
        }
        if (address.Equals(IPAddress.Broadcast))
        {
            return $"the origin '{text}' is the broadcast address; grant the address of one server";
        }
        if (b[0] >= 224 && b[0] <= 239)
        {
            return $"the origin '{text}' is a multicast address; grant the address of one server";
        }
        return null;
    }

    private static string? Ipv6Problem(string text, IPAddress address)
    {
        byte[] b = address.GetAddressBytes();
        if (address.Equals(IPAddress.IPv6Any))
        {
            return $"the origin '{text}' is ::, which is not a destination; grant http://[::1]:PORT for this machine";
        }
        // Mapped (::ffff:a.b.c.d) and compatible (::a.b.c.d) forms print differently in the two parsers.
        bool compatible = b.AsSpan(0, 12).IndexOfAnyExcept((byte)0) < 0 && !address.Equals(IPAddress.IPv6Loopback);
        if (address.IsIPv4MappedToIPv6 || compatible)
        {
            return $"the origin '{text}' is an IPv4 address written as IPv6; grant the IPv4 address itself (http://a.b.c.d:PORT)";
        }
        if (address.IsIPv6Multicast)
        {
            return $"the origin '{text}' is a multicast address; grant the address of one server";
        }
        return null;
    }

    /// <summary>WHATWG's "ends in a number": the last label (after one trailing dot) is all digits or 0x-hex.</summary>
    internal static bool EndsInNumber(string host)
    {
        string[] labels = host.Split('.');
        int last = labels.Length - 1;
        if (labels[last].Length == 0 && labels.Length > 1)
        {
            last--;
        }
        ReadOnlySpan<char> label = labels[last];
        if (label.Length > 0 && !label.ContainsAnyExceptInRange('0', '9'))
        {
            return true;
        }
        return label.Length >= 2 && label[0] == '0' && (label[1] is 'x' or 'X') && !label[2..].ContainsAnyExcept("0123456789abcdefABCDEF");
    }

    private static string OriginOf(Uri uri) => uri.IsDefaultPort ? $"{uri.Scheme}://{uri.Host}" : $"{uri.Scheme}://{uri.Host}:{uri.Port}";

    /// <summary>The IP address of a literal origin's host (the granted literal), or null for a hostname.</summary>
    public static IPAddress? LiteralOf(Uri uri) => uri.HostNameType switch
    {
        UriHostNameType.IPv4 => IPAddress.Parse(uri.Host),
        UriHostNameType.IPv6 => IPAddress.Parse(uri.Host.AsSpan().Trim("[]")),
        _ => null,
    };
}
