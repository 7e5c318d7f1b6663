using Microsoft.Extensions.Logging;

namespace Warden.Hosting.Fetch;

/// <summary>The host log lines of fetch: the details a script never sees (addresses, ports, .NET exception texts).</summary>
internal static partial class FetchLog
{
    [LoggerMessage(EventId = 150, Level = LogLevel.Information, Message = "fetch to {Origin} failed (the script saw only 'Failed to fetch')")]
    public static partial void Failed(ILogger logger, string origin, Exception exception);

    /// <summary>A hostname resolved to an address that is not public (or a literal that is not the granted one): an SSRF attempt or a misconfigured grant.</summary>
    [LoggerMessage(EventId = 151, Level = LogLevel.Warning, Message = "SECURITY: fetch connection to {Host} refused: {Reason}")]
    public static partial void ConnectRefused(ILogger logger, string host, string reason);
}
