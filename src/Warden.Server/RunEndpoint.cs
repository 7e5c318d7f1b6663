using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Warden.Server;

/// <summary>
/// <c>POST /v1/run</c>: 200 with the outcome whatever the script did; 400 problem+json naming the field
/// for a malformed request; 413 for a body over the limit; 503 with Retry-After when the queue is full.
/// SECURITY: the body is attacker-controlled. It is read into a buffer bounded before allocation,
/// parsed strictly (unknown fields, comments, trailing commas, quoted numbers refused), and only
/// then handed to the library, which validates sizes and limits again.
/// </summary>
internal static class RunEndpoint
{
    public static async Task<IResult> HandleAsync(HttpContext context, Sandbox sandbox, SandboxOptions sandboxOptions, ServerOptions options,
        ILogger<Sandbox> logger)
    {
        var request = context.Request;
        if (request.ContentLength > options.MaxRequestBodyBytes)
        {
            return TooLarge(options);
        }
        if (!IsUtf8Json(request.ContentType))
        {
            return Problems.Create(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type", "The body must be application/json in UTF-8.");
        }
        byte[]? body;
        try
        {
            body = await ReadBoundedAsync(request.Body, options.MaxRequestBodyBytes, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException e)
        {
            // Bad chunked framing, a body that arrives too slowly (408), ...: Kestrel's status, our words.
            return e.StatusCode == StatusCodes.Status413PayloadTooLarge ? TooLarge(options)
                : Problems.Create(e.StatusCode, "Bad request body", "The request body could not be read (framing or timing).");
        }
        if (body is null)
        {
            return TooLarge(options);
        }

        RunRequest? run;
        try
        {
            // A UTF-8 byte order mark is allowed (and skipped), as RFC 8259 lets parsers do.
            var json = body.AsSpan();
            if (json.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
            {
                json = json[3..];
            }
            run = JsonSerializer.Deserialize(json, RunRequestJsonContext.Default.RunRequest);
        }
        catch (JsonException e)
        {
            return Malformed(e);
        }
        if (run is null)
        {
            return Problems.Create(StatusCodes.Status400BadRequest, "Malformed request", "The body must be a JSON object.", "$");
        }
        // An API key is a tenant: its ceilings apply (the library refuses limits above them and lowers the
        // defaults to them), and it is the isolation key (a request's own isolationKey only narrows it
        // further). Key names cannot contain '/', so "name/narrower" can never equal another key's.
        var apiKey = context.Items[TenantQuotas.KeyItem] as ApiKeyOptions;
        // The tenant prefix counts against the library's isolation key length: say so in its own terms.
        int maxOwnKey = Submission.MaxIsolationKeyLength - (apiKey is null ? 1 : apiKey.Name.Length + 1);
        if (run.IsolationKey is { Length: var ownLength } && (ownLength == 0 || ownLength > maxOwnKey))
        {
            return Problems.Create(StatusCodes.Status400BadRequest, "Invalid request", $"isolationKey must be 1 to {maxOwnKey} characters here.", "isolationKey");
        }
        // Capabilities: what the key was granted (without keys, everything configured), narrowed by the request.
        // An allowance is distinct: a key may list one origin in several spellings (or a webhook twice), and the
        // library refuses a submission that grants one twice (a key whose every request was a 400: attack review).
        var fetchAllowance = apiKey is null ? (options.FetchOrigins ?? []).Select(o => o.Origin) : apiKey.FetchOrigins ?? [];
        var (fetchOrigins, fetchProblem) = Narrowed(run.FetchOrigins,
            [.. fetchAllowance.Select(o => sandboxOptions.FetchOrigins.Find(o)?.Origin).OfType<string>().Distinct(StringComparer.Ordinal)],
            origin => sandboxOptions.FetchOrigins.Find(origin)?.Origin, "fetchOrigins", "an origin this caller may fetch");
        if (fetchProblem is not null)
        {
            return fetchProblem;
        }
        var functionAllowance = apiKey is null ? (options.Webhooks ?? []).Select(w => w.Name) : apiKey.HostFunctions ?? [];
        var (hostFunctions, functionProblem) = Narrowed(run.HostFunctions, [.. functionAllowance.Distinct(StringComparer.Ordinal)],
            name => name, "hostFunctions", "a host function this caller may call");
        if (functionProblem is not null)
        {
            return functionProblem;
        }
        var submission = new Submission
        {
            Code = run.Code,
            InputJson = run.Input is { } input ? input.GetRawText() : null,
            IsModule = run.Module ?? false,
            Modules = run.Modules,
            // Keyless requests get "/" + key: no tenant's key can start with "/" (names are not empty),
            // so even a keyless isolationKey of "alice/" can never share alice's workers.
            IsolationKey = apiKey is null ? (run.IsolationKey is { } own ? "/" + own : null) : apiKey.Name + "/" + (run.IsolationKey ?? ""),
            Limits = new ExecutionLimits(run.Limits?.TimeoutMs, run.Limits?.CpuMs, run.Limits?.MemoryMb, run.Limits?.Fuel),
            // Which engines exist is the sandbox's business: an unknown one comes back as invalid_request, field engine.
            Engine = run.Engine,
            Ceilings = apiKey?.Ceilings,
            // The operator's choice for this key; null: the sandbox's. Never the request's.
            IsolationUnit = apiKey?.IsolationUnit,
            FetchOrigins = fetchOrigins,
            HostFunctions = hostFunctions,
        };
        Outcome outcome;
        try
        {
            // Not cancelled when the client goes away: cancelling kills the worker, and a client that
            // disconnects at once would make every request cost a worker restart (~0.8 s of CPU).
            // The execution is bounded by its own limits; its quota slot is held until it ends.
            outcome = await sandbox.RunAsync(submission, CancellationToken.None).ConfigureAwait(false);
        }
        catch (SandboxOverloadedException)
        {
            return Problems.Create(StatusCodes.Status503ServiceUnavailable, "Overloaded",
                "Too many executions are waiting for a worker; retry later.", retryAfterSeconds: options.RetryAfterSeconds);
        }
        if (outcome.Status == OutcomeStatus.InvalidRequest)
        {
            return Problems.Create(StatusCodes.Status400BadRequest, "Invalid request", outcome.Error!.Message, outcome.Error.Field);
        }
        ServerLog.Execution(logger, outcome.Status.ToWireString(), outcome.Usage.WallMs, outcome.Usage.CpuMs);
        return Results.Text(outcome.ToJson(), "application/json", System.Text.Encoding.UTF8, StatusCodes.Status200OK);
    }

    /// <summary>
    /// What a request is granted: its caller's whole <paramref name="allowance"/> when it names nothing, else what it
    /// names, each of which must be in the allowance (a request can only narrow what its API key was granted).
    /// SECURITY: the names are the request's; one outside the allowance is refused by its position, never echoed.
    /// </summary>
    private static (List<string>? Granted, IResult? Problem) Narrowed(string[]? requested, IReadOnlyList<string> allowance,
        Func<string, string?> canonical, string field, string what)
    {
        if (requested is null)
        {
            return (allowance.Count == 0 ? null : [.. allowance], null);
        }
        var granted = new List<string>();
        for (int i = 0; i < requested.Length; i++)
        {
            if (requested[i] is not { } name || canonical(name) is not { } known || !allowance.Contains(known, StringComparer.Ordinal))
            {
                return (null, Problems.Create(StatusCodes.Status400BadRequest, "Invalid request", $"{field}[{i}] is not {what}.", $"{field}[{i}]"));
            }
            if (!granted.Contains(known, StringComparer.Ordinal))
            {
                granted.Add(known);
            }
        }
        return (granted.Count == 0 ? null : granted, null);
    }

    /// <summary>application/json, with no charset or a UTF-8 one (JSON is UTF-8: RFC 8259).</summary>
    private static bool IsUtf8Json(string? contentType)
    {
        if (!Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var media)
            || !media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        var charset = media.Charset;
        return !charset.HasValue || charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) || charset.Equals("utf8", StringComparison.OrdinalIgnoreCase);
    }

    private static IResult TooLarge(ServerOptions options) =>
        Problems.Create(StatusCodes.Status413PayloadTooLarge, "Request too large", $"The body is larger than {options.MaxRequestBodyBytes} bytes.");

    private static IResult Malformed(JsonException e)
    {
        // System.Text.Json names where it stopped ($.limits.timeoutMs); a missing or unknown member
        // is named in its message instead.
        string field = e.Path is { Length: > 2 } path ? path[2..] : "$";
        string detail = e.Message.Contains("missing required properties", StringComparison.Ordinal) ? "code is required."
            : e.Message.Contains("could not be mapped", StringComparison.Ordinal) ? $"Unknown field '{field}'."
            : $"Malformed JSON or a wrong type at '{field}'.";
        if (detail == "code is required.")
        {
            field = "code";
        }
        return Problems.Create(StatusCodes.Status400BadRequest, "Malformed request", detail, field);
    }

    /// <summary>The whole body, or null when it is longer than <paramref name="maxBytes"/> (never buffering more than that).</summary>
    private static async Task<byte[]?> ReadBoundedAsync(Stream body, int maxBytes, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(maxBytes + 1, 64 * 1024));
        try
        {
            using var collected = new MemoryStream();
            int read;
            while ((read = await body.ReadAsync(buffer.AsMemory(0, buffer.Length), cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (collected.Length + read > maxBytes)
                {
                    return null;
                }
                collected.Write(buffer, 0, read);
            }
            return collected.ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
