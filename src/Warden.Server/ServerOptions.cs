using System.Net;

namespace Warden.Server;

/// <summary>
/// Settings of the HTTP service (configuration section <c>Warden:Server</c>). Validated at start;
/// every problem is listed at once.
/// </summary>
public sealed class ServerOptions
{
    /// <summary>Where to listen. Default <c>http://127.0.0.1:8080</c>: loopback only.</summary>
    public string Urls { get; set; } = "http://127.0.0.1:8080";

    /// <summary>
    /// Largest request body accepted, in bytes; larger ones get 413 before they are read. Default
    /// 24 MiB: room for the largest input and code the default limits allow. The input travels as raw
    /// JSON (counted as sent: 16 MiB), the code and modules as JSON strings, which escaping can make up
    /// to 6 times longer (1 MiB of code, 6 MiB), plus 2 MiB for the envelope. docs/limits.md.
    /// </summary>
    public int MaxRequestBodyBytes { get; set; } = 24 << 20;

    /// <summary>The largest <see cref="MaxRequestBodyBytes"/>: 64 MiB of input and 16 MiB of code escaped 6 times, and the envelope.</summary>
    public const int AbsoluteMaxRequestBodyBytes = 192 << 20;

    /// <summary>
    /// The API keys (hashed). With none, runs need no key and only loopback addresses are allowed
    /// (<see cref="AllowNonLoopbackWithoutKeys"/>); with any, every run must present one.
    /// </summary>
    public List<ApiKeyOptions> ApiKeys { get; set; } = [];

    /// <summary>
    /// The origins scripts may fetch (each with the operator's headers for it). An API key's executions get only the
    /// ones its <see cref="ApiKeyOptions.FetchOrigins"/> lists; without API keys (loopback only), a request may be
    /// granted any of them. None by default: no script can fetch anything.
    /// </summary>
    public List<FetchOriginOptions> FetchOrigins { get; set; } = [];

    /// <summary>
    /// Webhook capabilities: host functions that POST a script's arguments to an operator's URL. An API key's
    /// executions get only the ones its <see cref="ApiKeyOptions.HostFunctions"/> lists; without API keys, any.
    /// </summary>
    public List<WebhookOptions> Webhooks { get; set; } = [];

    /// <summary>
    /// Listening on an address other than loopback without any API key is refused: anyone who reaches
    /// it could run code. Set to true only behind something that authenticates.
    /// </summary>
    public bool AllowNonLoopbackWithoutKeys { get; set; }

    /// <summary>How long a shutdown waits for running executions to finish before killing their workers. Default 30 s.</summary>
    public TimeSpan ShutdownDrainTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The <c>Retry-After</c> sent with 503 when the queue is full. Default 1 s.</summary>
    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>
    /// The playground page at <c>GET /</c>: <see cref="PlaygroundMode.Auto"/> (the default) serves it when every listening
    /// address is loopback, <see cref="PlaygroundMode.On"/> always, <see cref="PlaygroundMode.Off"/> never (404).
    /// It runs scripts through <c>POST /v1/run</c> like any client, with the API key when keys are configured.
    /// </summary>
    public PlaygroundMode Playground { get; set; } = PlaygroundMode.Auto;

    /// <summary>
    /// Host names (or IP addresses) this server answers to besides loopback ones (<c>localhost</c>, <c>127.0.0.1</c>,
    /// <c>[::1]</c>): the <c>Host</c> header of every request must name one of them when no API key is configured (a
    /// keyless server can be reached from any web page through DNS rebinding), and also with keys once this list is not
    /// empty. Exact names, no port, no wildcard. Empty by default.
    /// </summary>
    public List<string> AllowedHosts { get; set; } = [];

    /// <summary>OpenTelemetry (OTLP) export; off unless an endpoint is configured (docs/telemetry.md).</summary>
    public TelemetryOptions Telemetry { get; set; } = new();

    /// <summary>Checks every setting; returns one message per problem (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        var urls = (Urls ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (urls.Length == 0)
        {
            errors.Add("Urls must name at least one address.");
        }
        foreach (var url in urls)
        {
            if (UrlProblem(url, "Urls") is { } problem)
            {
                errors.Add(problem);
            }
        }
        var keys = ApiKeys ?? [];
        for (int i = 0; i < keys.Count; i++)
        {
            errors.AddRange(keys[i].Validate(i));
        }
        var webhooks = Webhooks ?? [];
        for (int i = 0; i < webhooks.Count; i++)
        {
            errors.AddRange(webhooks[i].Validate(i));
        }
        foreach (var key in keys)
        {
            // A grant of something not configured is a typo that would silently grant nothing: said at start.
            foreach (var name in key.HostFunctions ?? [])
            {
                if (!webhooks.Any(w => w.Name == name))
                {
                    errors.Add($"ApiKeys: '{key.Name}' is granted the host function '{name}', which no webhook defines.");
                }
            }
        }
        foreach (var duplicate in keys.GroupBy(k => k.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            errors.Add($"ApiKeys: the name '{duplicate.Key}' is used more than once.");
        }
        foreach (var duplicate in keys.GroupBy(k => k.Sha256, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
        {
            errors.Add($"ApiKeys: one hash is configured for more than one key ({string.Join(", ", duplicate.Select(k => k.Name))}).");
        }
        if (MaxRequestBodyBytes is < 1024 or > AbsoluteMaxRequestBodyBytes)
        {
            errors.Add($"MaxRequestBodyBytes ({MaxRequestBodyBytes}) must be between 1 KiB and 192 MiB.");
        }
        if (ShutdownDrainTimeout < TimeSpan.Zero || ShutdownDrainTimeout > TimeSpan.FromMinutes(10))
        {
            errors.Add("ShutdownDrainTimeout must be between 0 and 10 minutes.");
        }
        if (RetryAfterSeconds is < 1 or > 3600)
        {
            errors.Add($"RetryAfterSeconds ({RetryAfterSeconds}) must be between 1 and 3600.");
        }
        if (!Enum.IsDefined(Playground))
        {
            errors.Add($"Playground ({(int)Playground}) must be Auto, On or Off.");
        }
        var hosts = AllowedHosts ?? [];
        for (int i = 0; i < hosts.Count; i++)
        {
            if (HostAllowlist.EntryProblem(hosts[i]) is { } hostProblem)
            {
                errors.Add($"AllowedHosts[{i}]: {hostProblem}");
            }
        }
        errors.AddRange((Telemetry ?? new TelemetryOptions()).Validate());
        return errors;
    }

    /// <summary>What is wrong with one listening address (<paramref name="setting"/> names where it came from), or null.</summary>
    internal string? UrlProblem(string url, string setting)
    {
        // Kestrel's wildcards ("http://*:8080", "http://+:8080") mean every interface.
        string parsed = url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal);
        if (!Uri.TryCreate(parsed, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            return $"{setting}: '{url}' is not an http:// or https:// address.";
        }
        if (!IsLoopbackUrl(parsed) && (ApiKeys is null || ApiKeys.Count == 0) && !AllowNonLoopbackWithoutKeys)
        {
            return $"{setting}: '{url}' is not a loopback address and no API key is configured, so anyone who reaches it could run code; "
                + "configure ApiKeys (warden keygen), or set AllowNonLoopbackWithoutKeys behind an authenticating proxy.";
        }
        return null;
    }

    /// <summary>True for an http(s) address on localhost or a loopback IP; false for anything else, wildcards included.</summary>
    internal static bool IsLoopbackUrl(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri)
        && (uri.Host == "localhost" || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address)));
}
