using System.Globalization;

namespace Warden.Protocol;

/// <summary>
/// The rules and messages of <c>fetch</c> shared by the host and the worker. A fetch is a host call (one per redirect
/// hop) under the reserved name <see cref="CallName"/>, which no host function can have (it is not an identifier).
/// </summary>
internal static class FetchWords
{
    /// <summary>The host-call name of one fetch request. SECURITY: not a valid host function name, so no operator's function can be reached by it, nor it by a function's name.</summary>
    public const string CallName = "#fetch";

    /// <summary>Room in a fetch call's arguments for everything but the body: the URL (at most 8 KiB, ASCII), the method and the headers (at most 16 KiB, up to 6 bytes a character escaped) and the envelope.</summary>
    private const int FrameRoomBytes = 128 << 10;

    /// <summary>The largest arguments (JSON, UTF-8 bytes) of a fetch call whose body is at most <paramref name="maxRequestBodyBytes"/>: the body travels in base64.</summary>
    public static int MaxCallArgumentBytes(int maxRequestBodyBytes) => Base64Length(maxRequestBodyBytes) + FrameRoomBytes;

    /// <summary>The largest answer (JSON) of a fetch whose body is at most <paramref name="maxResponseBytes"/>: the body in base64, and the response headers (at most 64 KiB, escaped).</summary>
    public static long MaxAnswerBytes(int maxResponseBytes) => Base64Length(maxResponseBytes) + 6L * (64 << 10) + FrameRoomBytes;

    private static int Base64Length(int bytes) => (int)Math.Min(int.MaxValue - FrameRoomBytes, (bytes + 2L) / 3 * 4);

    public static string TimedOut(int timeoutMs) =>
        string.Format(CultureInfo.InvariantCulture, "fetch limit exceeded: no complete response within {0} ms (fetchTimeoutMs)", timeoutMs);

    public static string RequestBodyTooLarge(int maxBytes) =>
        string.Format(CultureInfo.InvariantCulture, "fetch limit exceeded: the request body is larger than {0} bytes (maxFetchRequestBodyBytes)", maxBytes);

    public static string HostBusy() => "fetch limit exceeded: the host holds too many response bytes at once (maxFetchBytesInFlight)";

    public static string ResponseTooLarge(int maxBytes) =>
        string.Format(CultureInfo.InvariantCulture, "fetch limit exceeded: the response body is larger than {0} bytes (maxFetchResponseBytes)", maxBytes);
}
