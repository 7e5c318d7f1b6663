using System.Text.Json;
using System.Text.Json.Nodes;

namespace Warden.Hosting.Fetch;

/// <summary>
/// The JSON shapes of a fetch host call, as the prelude produces and consumes them.
/// <para>Arguments: an array of ONE object, exactly these members:
/// <c>[{"url": string, "method": string, "headers": [[string, string], ...], "body": string (base64) | null, "redirect": "follow" | "manual" | "error"}]</c>.</para>
/// <para>Answer: <c>{"status": int, "statusText": string, "headers": [[string, string], ...], "body": string (base64)}</c>.</para>
/// SECURITY: the arguments come from a possibly compromised worker; anything else (a member missing, unknown,
/// repeated or of the wrong type) is refused with the generic TypeError.
/// </summary>
internal static class FetchFrames
{
    private const string Url = "url", Method = "method", Headers = "headers", Body = "body", Redirect = "redirect";

    /// <summary>Reads the arguments of one fetch call.</summary>
    /// <exception cref="HostCallRejectedException">The arguments are not exactly the request shape.</exception>
    public static FetchRequest ReadRequest(JsonElement arguments)
    {
        if (arguments.ValueKind != JsonValueKind.Array || arguments.GetArrayLength() != 1 || arguments[0].ValueKind != JsonValueKind.Object)
        {
            throw FetchErrors.Failed();
        }
        string? url = null, method = null, redirect = null;
        List<KeyValuePair<string, string>>? headers = null;
        byte[]? body = null;
        bool bodySeen = false;
        foreach (var member in arguments[0].EnumerateObject())
        {
            switch (member.Name)
            {
                case Url when url is null:
                    url = StringOf(member.Value);
                    break;
                case Method when method is null:
                    method = StringOf(member.Value);
                    break;
                case Redirect when redirect is null:
                    redirect = StringOf(member.Value);
                    break;
                case Headers when headers is null:
                    headers = HeadersOf(member.Value);
                    break;
                case Body when !bodySeen:
                    bodySeen = true;
                    body = member.Value.ValueKind == JsonValueKind.Null ? null : BytesOf(member.Value);
                    break;
                default:
                    throw FetchErrors.Failed();
            }
        }
        if (url is null || method is null || headers is null || !bodySeen || redirect is not ("follow" or "manual" or "error"))
        {
            throw FetchErrors.Failed();
        }
        // Under "follow" and "error" the isolate never shows a 3xx body to the script.
        return new FetchRequest(url, method, headers, body, SkipRedirectBody: redirect != "manual");
    }

    /// <summary>The answer of one fetch call.</summary>
    public static JsonNode WriteResponse(FetchResponse response)
    {
        var headers = new JsonArray();
        foreach (var (name, value) in response.Headers)
        {
            headers.Add(new JsonArray(JsonValue.Create(name), JsonValue.Create(value)));
        }
        return new JsonObject
        {
            ["status"] = response.Status,
            ["statusText"] = response.StatusText,
            ["headers"] = headers,
            ["body"] = Convert.ToBase64String(response.Body.Span),
        };
    }

    private static string StringOf(JsonElement value) =>
        value.ValueKind == JsonValueKind.String ? value.GetString()! : throw FetchErrors.Failed();

    private static List<KeyValuePair<string, string>> HeadersOf(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw FetchErrors.Failed();
        }
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var pair in value.EnumerateArray())
        {
            if (pair.ValueKind != JsonValueKind.Array || pair.GetArrayLength() != 2)
            {
                throw FetchErrors.Failed();
            }
            headers.Add(new(StringOf(pair[0]), StringOf(pair[1])));
        }
        return headers;
    }

    private static byte[] BytesOf(JsonElement value)
    {
        string text = StringOf(value);
        var bytes = new byte[text.Length / 4 * 3 + 3];
        return Convert.TryFromBase64String(text, bytes, out int written) ? bytes[..written] : throw FetchErrors.Failed();
    }
}
