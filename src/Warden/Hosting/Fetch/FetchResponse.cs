namespace Warden.Hosting.Fetch;

/// <summary>One HTTP response for the script: headers lower-cased, without Set-Cookie; the body decoded and within its cap.</summary>
internal sealed record FetchResponse(int Status, string StatusText, IReadOnlyList<KeyValuePair<string, string>> Headers, ReadOnlyMemory<byte> Body);
