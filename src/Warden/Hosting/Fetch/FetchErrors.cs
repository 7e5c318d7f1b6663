namespace Warden.Hosting.Fetch;

/// <summary>
/// The script-visible texts of fetch's rejections. SECURITY: every failure after the grant check (DNS, a refused
/// address, connect, TLS, protocol) is the one <see cref="Failed"/> text, so that a script cannot tell a refused
/// internal address from a closed port or a TLS failure (no port scanning, no address probing); details go to the host log.
/// </summary>
internal static class FetchErrors
{
    public const string TypeErrorName = "TypeError";
    public const string RangeErrorName = "RangeError";

    /// <summary>The one text of every failure after the grant check, and of a malformed frame.</summary>
    public const string FailedText = "Failed to fetch";

    public static HostCallRejectedException Failed() => new(TypeErrorName, FailedText);

    public static HostCallRejectedException Invalid(string why) => new(TypeErrorName, $"{FailedText}: {why}");

    public static HostCallRejectedException NotGranted(string origin) => new(TypeErrorName, $"{FailedText}: the origin {origin} is not granted");

    public static HostCallRejectedException RequestBodyTooLarge(long limit) =>
        new(RangeErrorName, Protocol.FetchWords.RequestBodyTooLarge((int)Math.Min(int.MaxValue, limit)));

    public static HostCallRejectedException HostBusy() => new(RangeErrorName, Protocol.FetchWords.HostBusy());

    public static HostCallRejectedException ResponseTooLarge(long limit) =>
        new(RangeErrorName, Protocol.FetchWords.ResponseTooLarge((int)Math.Min(int.MaxValue, limit)));
}
