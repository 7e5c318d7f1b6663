using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Warden.Server;

/// <summary>
/// Serves webhook capabilities (<see cref="WebhookOptions"/>) as host functions: one POST of the call's JSON
/// arguments, the answer's JSON back. The URL and headers are the operator's, so the script chooses nothing of the
/// request but its JSON body; the answer is read within the host-call result limit before it is parsed, and a
/// failure reaches the script as a short message naming the webhook and the HTTP status, never the URL or a .NET text.
/// </summary>
internal sealed class WebhookCaller : IDisposable
{
    private readonly HttpMessageInvoker _http = new(new SocketsHttpHandler
    {
        // SECURITY: the operator's URL is the only one ever requested: no redirect can send the arguments (or the
        // operator's headers) elsewhere, no proxy from the environment sees them, and no cookie carries one
        // execution's state to the next.
        AllowAutoRedirect = false,
        UseProxy = false,
        UseCookies = false,
        Credentials = null,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
    }, disposeHandler: true);

    private readonly int _maxResultBytes;

    public WebhookCaller(int maxResultBytes) => _maxResultBytes = maxResultBytes;

    /// <summary>Where failures are logged (the service's logger, set once it is built): the script sees only their short text.</summary>
    public ILogger Logger { get; set; } = NullLogger.Instance;

    /// <summary>
    /// The header that tells a webhook whose execution called it: the caller's isolation key (for an API key,
    /// <c>NAME/</c> followed by the request's own key), percent-encoded. A webhook shared by several keys can tell
    /// them apart; it is Warden's, never the script's.
    /// </summary>
    public const string IsolationKeyHeader = "Warden-Isolation-Key";

    /// <summary>The host function that calls <paramref name="webhook"/>.</summary>
    public Func<JsonElement, HostCallContext, Task<JsonNode?>> FunctionFor(WebhookOptions webhook)
    {
        var url = new Uri(webhook.Url, UriKind.Absolute);
        var headers = (webhook.Headers ?? []).ToList();
        string name = webhook.Name;
        return async (arguments, call) =>
        {
            try
            {
                return await CallAsync(name, url, headers, arguments, call.IsolationKey, call.CancellationToken).ConfigureAwait(false);
            }
            catch (HostFunctionException e)
            {
                ServerLog.WebhookFailed(Logger, name, e.Message, e.InnerException);
                throw;
            }
        };
    }

    private async Task<JsonNode?> CallAsync(string name, Uri url, List<KeyValuePair<string, string>> headers, JsonElement arguments,
        string? isolationKey, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new StringContent(arguments.GetRawText(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (isolationKey is not null)
        {
            request.Headers.TryAddWithoutValidation(IsolationKeyHeader, Uri.EscapeDataString(isolationKey));
        }
        foreach (var (header, value) in headers)
        {
            if (!request.Headers.TryAddWithoutValidation(header, value))
            {
                request.Content.Headers.TryAddWithoutValidation(header, value);
            }
        }
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new HostFunctionException($"The webhook {name} could not be reached", e);
        }
        using (response)
        {
            if (response.StatusCode is < HttpStatusCode.OK or >= HttpStatusCode.MultipleChoices)
            {
                throw new HostFunctionException($"The webhook {name} answered HTTP {(int)response.StatusCode}");
            }
            byte[] body = await ReadBoundedAsync(name, response.Content, cancellationToken).ConfigureAwait(false);
            try
            {
                return body.Length == 0 ? null : JsonNode.Parse(body);
            }
            catch (JsonException e)
            {
                throw new HostFunctionException($"The webhook {name} did not answer JSON", e);
            }
        }
    }

    /// <summary>At most the result limit (plus one byte, to know it was more): a huge answer is never held whole.</summary>
    private async Task<byte[]> ReadBoundedAsync(string name, HttpContent content, CancellationToken cancellationToken)
    {
        if (content.Headers.ContentLength > _maxResultBytes)
        {
            throw new HostFunctionException($"The webhook {name} answered more than {_maxResultBytes} bytes (maxResultBytes)");
        }
        await using var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var piece = new byte[16 << 10];
        int read;
        while ((read = await stream.ReadAsync(piece, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > _maxResultBytes)
            {
                throw new HostFunctionException($"The webhook {name} answered more than {_maxResultBytes} bytes (maxResultBytes)");
            }
            buffer.Write(piece, 0, read);
        }
        return buffer.ToArray();
    }

    public void Dispose() => _http.Dispose();
}
