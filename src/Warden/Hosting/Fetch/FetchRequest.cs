namespace Warden.Hosting.Fetch;

/// <summary>
/// One HTTP request as the isolate shaped it (read by <see cref="FetchFrames.ReadRequest"/>). Nothing in it is
/// trusted: <see cref="FetchClient.SendAsync"/> checks it all again.
/// </summary>
/// <param name="Url">The WHATWG-serialised href, without fragment.</param>
/// <param name="Method">The method as the script wrote it.</param>
/// <param name="Headers">The script's headers, in order.</param>
/// <param name="Body">The body bytes, or null for none.</param>
/// <param name="SkipRedirectBody">The isolate follows (or errors on) redirects: a 3xx body is not read.</param>
internal sealed record FetchRequest(string Url, string Method, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[]? Body, bool SkipRedirectBody);
