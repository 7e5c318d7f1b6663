using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Warden.Hosting.Fetch;

/// <summary>
/// Test-only hooks of <see cref="FetchConnector"/>; production code never passes any.
/// </summary>
/// <param name="TreatAsPublic">TEST ONLY: an address this returns true for passes the policy as if public (lets a
/// test reach a loopback server through a hostname). Attack tests leave it null and meet the real policy.</param>
/// <param name="BeforeDial">TEST ONLY: told of every address just before a socket connects to it.</param>
internal sealed record FetchConnectorTestHooks(Func<IPAddress, bool>? TreatAsPublic = null, Action<IPEndPoint>? BeforeDial = null);

/// <summary>
/// SECURITY: the only code that opens a fetch socket (<see cref="SocketsHttpHandler.ConnectCallback"/>). It connects
/// only to an address it checked itself: a literal origin only to the literal that was granted (carried in the
/// request's options by <see cref="FetchClient"/>, after the grant check); a hostname is resolved once per connection
/// and ALL its addresses must be public (all or nothing: no "pick the public one" that a rebinding answer could game),
/// then a checked address is dialled. Every refusal is a <see cref="FetchConnectRefusedException"/> whose text goes
/// to the host log only.
/// </summary>
internal sealed class FetchConnector(IFetchResolver resolver, ILogger logger, FetchConnectorTestHooks? testHooks = null)
{
    /// <summary>The granted IP literal of a literal-origin request, set only after its origin matched a grant.</summary>
    public static readonly HttpRequestOptionsKey<IPAddress> GrantedLiteral = new("Warden.Fetch.GrantedLiteral");

    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var request = context.InitialRequestMessage;
        string host = context.DnsEndPoint.Host;
        IPAddress[] candidates;
        if (request.RequestUri!.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6)
        {
            // Operator consent: a granted literal is not classified, but it must be exactly the literal granted.
            if (!IPAddress.TryParse(host.AsSpan().Trim("[]"), out IPAddress? literal)
                || !request.Options.TryGetValue(GrantedLiteral, out IPAddress? granted) || !granted.Equals(literal))
            {
                throw Refused(host, "an IP literal that is not the granted one");
            }
            candidates = [literal];
        }
        else
        {
            // A resolver may ignore cancellation; the wait does not.
            IPAddress[] found = await resolver.ResolveAsync(host, cancellationToken).WaitAsync(cancellationToken).ConfigureAwait(false);
            if (found.Length == 0)
            {
                throw Refused(host, "no address");
            }
            foreach (var address in found)
            {
                if (!IsAllowed(address))
                {
                    throw Refused(host, $"it resolved to {address}, which is not a public address");
                }
            }
            candidates = [.. found.Select(a => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a)];
        }
        List<Exception>? failures = null;
        foreach (var address in candidates)
        {
            var endPoint = new IPEndPoint(address, context.DnsEndPoint.Port);
            testHooks?.BeforeDial?.Invoke(endPoint);
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                (failures ??= []).Add(e);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        throw new IOException($"fetch could not connect to any address of {host}", new AggregateException(failures!));
    }

    private bool IsAllowed(IPAddress address) =>
        FetchAddressPolicy.IsPublic(address) || (testHooks?.TreatAsPublic?.Invoke(address) ?? false);

    private FetchConnectRefusedException Refused(string host, string reason)
    {
        FetchLog.ConnectRefused(logger, host, reason);
        return new FetchConnectRefusedException($"fetch connection to {host} refused: {reason}");
    }
}

/// <summary>The connector refused an address (its text is for the host log only).</summary>
internal sealed class FetchConnectRefusedException(string message) : IOException(message);
