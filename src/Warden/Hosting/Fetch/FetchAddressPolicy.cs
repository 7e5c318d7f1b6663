using System.Net;
using System.Net.Sockets;

namespace Warden.Hosting.Fetch;

/// <summary>
/// Which addresses a fetch to a granted <em>hostname</em> may connect to (design §2). A granted IP literal is not
/// classified: the operator named that address. SECURITY: classifies the parsed bytes, never a string (every textual
/// IPv4 spelling — <c>127.1</c>, <c>0x7f.1</c>, <c>2130706433</c> — is the same bytes by now). IPv4 is a deny list
/// (IANA special-purpose blocks and cloud metadata); IPv6 is an allow list (<c>2000::/3</c> minus special blocks),
/// with forms that carry an IPv4 either unwrapped (mapped, NAT64 <c>64:ff9b::/96</c>) or refused (6to4, Teredo).
/// </summary>
internal static class FetchAddressPolicy
{
    private static readonly IPNetwork[] V4Refused =
    [
        .. new[]
        {
            "0.0.0.0/8",        // "this network"; connecting to 0.0.0.0 on Linux reaches a 127.0.0.1 listener
            "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", // RFC 1918
            "100.64.0.0/10",    // CGNAT, includes Alibaba Cloud's metadata 100.100.100.200
            "127.0.0.0/8",      // loopback
            "169.254.0.0/16",   // link-local: 169.254.169.254 (AWS/GCP/Azure/OCI metadata), 169.254.170.2 (ECS)
            "192.0.0.0/24",     // IETF protocol assignments (incl. Oracle's legacy 192.0.0.192)
            "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", // documentation
            "198.18.0.0/15",    // benchmarking
            "192.88.99.0/24",   // 6to4 relay anycast
            "224.0.0.0/4",      // multicast
            "240.0.0.0/4",      // reserved, and 255.255.255.255 broadcast
            "168.63.129.16/32", // Azure WireServer: looks public, reachable only from the platform
        }.Select(IPNetwork.Parse),
    ];

    private static readonly IPNetwork V6Global = IPNetwork.Parse("2000::/3");
    private static readonly IPNetwork Nat64 = IPNetwork.Parse("64:ff9b::/96");

    private static readonly IPNetwork[] V6Refused =
    [
        .. new[]
        {
            "2001::/23",     // IETF protocol assignments, incl. Teredo 2001::/32 (refused, not decoded)
            "2001:db8::/32", // documentation
            "3fff::/20",     // documentation (RFC 9637)
            "2002::/16",     // 6to4 (refused, not decoded: deprecated, a known bypass)
        }.Select(IPNetwork.Parse),
    ];

    /// <summary>Whether a resolved address is on the public internet (and not a platform-only address).</summary>
    public static bool IsPublic(IPAddress address)
    {
        switch (address.AddressFamily)
        {
            case AddressFamily.InterNetwork:
                return !Array.Exists(V4Refused, n => n.Contains(address));
            case AddressFamily.InterNetworkV6:
                // SECURITY: a scope id means a link-local interface; never public.
                if (address.ScopeId != 0)
                {
                    return false;
                }
                // SECURITY: unwrap before any network test (IPNetwork.Contains was seen to match a mapped address
                // against an IPv4 network; nothing here relies on it either way).
                if (address.IsIPv4MappedToIPv6)
                {
                    return IsPublic(address.MapToIPv4());
                }
                if (Nat64.Contains(address))
                {
                    // An IPv6-only host reaches public IPv4 through the well-known NAT64 prefix: judge the IPv4 inside.
                    return IsPublic(new IPAddress(address.GetAddressBytes().AsSpan(12, 4)));
                }
                return V6Global.Contains(address) && !Array.Exists(V6Refused, n => n.Contains(address));
            default:
                return false;
        }
    }
}
