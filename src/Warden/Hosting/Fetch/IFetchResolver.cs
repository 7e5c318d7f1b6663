using System.Net;
using System.Net.Sockets;

namespace Warden.Hosting.Fetch;

/// <summary>Resolves a granted hostname to its addresses (the test seam: tests answer with special addresses).</summary>
internal interface IFetchResolver
{
    Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken);
}

/// <summary>The system resolver (getaddrinfo), both address families.</summary>
internal sealed class SystemFetchResolver : IFetchResolver
{
    public static SystemFetchResolver Instance { get; } = new();

    public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken) =>
        Dns.GetHostAddressesAsync(host, AddressFamily.Unspecified, cancellationToken);
}
