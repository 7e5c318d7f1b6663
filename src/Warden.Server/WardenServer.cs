using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace Warden.Server;

/// <summary>
/// Builds the HTTP service: configuration from the usual ASP.NET Core sources (appsettings.json,
/// environment variables such as <c>Warden__Server__Urls</c>, then the callbacks), validated at start
/// with every problem listed; one <see cref="Sandbox"/> for the process, disposed (workers killed)
/// after in-flight requests drained at shutdown.
/// </summary>
public static class WardenServer
{
    /// <summary>Configuration sections: <c>Warden:Sandbox</c> binds <see cref="SandboxOptions"/>, <c>Warden:Server</c> binds <see cref="ServerOptions"/>.</summary>
    public const string SandboxSection = Microsoft.Extensions.DependencyInjection.WardenServiceCollectionExtensions.SandboxSection, ServerSection = "Warden:Server";

    /// <exception cref="ServerConfigurationException">The configuration is invalid; every problem is listed.</exception>
    /// <exception cref="IsolationUnavailableException">An OS isolation layer is missing and weaker isolation was not chosen.</exception>
    public static WebApplication Build(string[] args, Action<SandboxOptions>? configureSandbox = null, Action<ServerOptions>? configureServer = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = Directory.GetCurrentDirectory() });
        var sandboxOptions = new SandboxOptions();
        var serverOptions = new ServerOptions();
        // Each section is bound on its own, so a value of the wrong type in one (the binder stops at
        // the first) does not hide the problems of the other; both are then validated as usual.
        var errors = new List<string>();
        Bind(builder.Configuration, SandboxSection, sandboxOptions, errors);
        Bind(builder.Configuration, ServerSection, serverOptions, errors);
        configureSandbox?.Invoke(sandboxOptions);
        configureServer?.Invoke(serverOptions);
        errors.AddRange(sandboxOptions.Validate().Concat(serverOptions.Validate()));
        var webhooks = RegisterCapabilities(sandboxOptions, serverOptions, errors);
        // Kestrel's own endpoint configuration overrides Urls: the loopback rule applies to it too.
        foreach (var endpoint in builder.Configuration.GetSection("Kestrel:Endpoints").GetChildren())
        {
            if (endpoint["Url"] is { } url && serverOptions.UrlProblem(url, "Kestrel:Endpoints:" + endpoint.Key + ":Url") is { } problem)
            {
                errors.Add(problem);
            }
        }
        foreach (var key in serverOptions.ApiKeys)
        {
            // The library would refuse this key's submissions (invalid_request): refuse the configuration at start
            // instead. An unknown value is ApiKeyOptions.Validate's to report.
            if (key.IsolationUnit is { } unit && Enum.IsDefined(unit) && sandboxOptions.IsolationUnitProblem(unit) is not null)
            {
                errors.Add($"ApiKeys: '{key.Name}' has IsolationUnit Context, which cannot be used with EnableSharedMemory or EnableWebAssembly.");
            }
            // SECURITY (availability): the library refuses capabilities in a warm isolate (its contexts share the module
            // cache the grant lives in), so a key granted any, running in one, would be refused every request that does not
            // narrow its grant to nothing. Said at start instead (attack review).
            if ((key.IsolationUnit ?? sandboxOptions.IsolationUnit) == IsolationUnit.Context
                && ((key.FetchOrigins?.Count ?? 0) > 0 || (key.HostFunctions?.Count ?? 0) > 0))
            {
                errors.Add($"ApiKeys: '{key.Name}' is granted FetchOrigins or HostFunctions but runs in IsolationUnit Context (a warm isolate), "
                    + "where they cannot be granted; give this key IsolationUnit Isolate or no capabilities.");
            }
            if (key.MaxTimeoutMs > sandboxOptions.Limits.MaxTimeoutMs)
            {
                errors.Add($"ApiKeys: '{key.Name}' has MaxTimeoutMs ({key.MaxTimeoutMs}) above the sandbox's MaxTimeoutMs ({sandboxOptions.Limits.MaxTimeoutMs}).");
            }
            if (key.MaxMemoryMb > sandboxOptions.Limits.MaxMemoryMb)
            {
                errors.Add($"ApiKeys: '{key.Name}' has MaxMemoryMb ({key.MaxMemoryMb}) above the sandbox's MaxMemoryMb ({sandboxOptions.Limits.MaxMemoryMb}).");
            }
            if (key.MaxFuel > sandboxOptions.Limits.MaxFuel)
            {
                errors.Add($"ApiKeys: '{key.Name}' has MaxFuel ({key.MaxFuel}) above the sandbox's MaxFuel ({sandboxOptions.Limits.MaxFuel}).");
            }
        }
        // Without API keys every request is granted everything configured: the same refusal for a warm sandbox.
        if ((serverOptions.ApiKeys?.Count ?? 0) == 0 && sandboxOptions.IsolationUnit == IsolationUnit.Context
            && ((serverOptions.FetchOrigins?.Count ?? 0) > 0 || (serverOptions.Webhooks?.Count ?? 0) > 0))
        {
            errors.Add("FetchOrigins and Webhooks: without API keys every request is granted them, but Warden:Sandbox:IsolationUnit is Context "
                + "(a warm isolate), where they cannot be granted; use IsolationUnit Isolate, or grant them per API key to keys in Isolate.");
        }
        if (errors.Count > 0)
        {
            throw new ServerConfigurationException(errors);
        }

        // One line per execution is ours (ServerLog); ASP.NET Core's per-request lines only at Warning and above
        // unless configuration says otherwise (Logging:LogLevel:Microsoft.AspNetCore).
        if (builder.Configuration["Logging:LogLevel:Microsoft.AspNetCore"] is null)
        {
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        }
        builder.WebHost.UseUrls(serverOptions.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // A backstop under RunEndpoint's own bounded read.
            kestrel.Limits.MaxRequestBodySize = serverOptions.MaxRequestBodyBytes + 1L;
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = serverOptions.ShutdownDrainTimeout);
        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi(o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Warden";
            document.Info.Description = "Runs untrusted JavaScript in locked-down V8 worker processes. POST /v1/run returns the outcome object whatever the script did.";
            return Task.CompletedTask;
        }));
        builder.Services.AddSingleton(serverOptions);
        builder.Services.AddSingleton<ApiKeyAuthenticator>();
        builder.Services.AddSingleton<ServerMetrics>();
        builder.Services.AddRateLimiter(o => TenantQuotas.Configure(o, serverOptions.RetryAfterSeconds));
        builder.Services.AddSingleton(sp => new Sandbox(sandboxOptions, sp.GetRequiredService<ILogger<Sandbox>>()));
        builder.Services.AddSingleton(sandboxOptions);
        builder.Services.AddSingleton(webhooks);
        builder.Services.AddSingleton<Readiness>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<Readiness>());
        HealthEndpoints.Register(builder.Services);
        TelemetryExport.AddIfConfigured(builder.Services, serverOptions.Telemetry ?? new TelemetryOptions());

        var app = builder.Build();
        webhooks.Logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger<WebhookCaller>();
        // Construct the sandbox now: a missing OS layer refuses the start, not the first request.
        _ = app.Services.GetRequiredService<Sandbox>();
        // Unhandled failures become a bare 500 problem (no exception text, no stack trace).
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandler = context => Problems.Create(StatusCodes.Status500InternalServerError, "Internal error", "The service failed to handle the request.").ExecuteAsync(context),
        });
        app.UseStatusCodePages();
        // Host allowlist and cross-site check (DNS rebinding, other pages): before authentication and any body is read.
        app.UseBrowserDefences(serverOptions);
        // Authentication before the quotas: the quota partition is the key's name.
        var authenticator = app.Services.GetRequiredService<ApiKeyAuthenticator>();
        app.Use(async (context, next) =>
        {
            // SECURITY: without keys, only loopback may be served — checked per connection too, since
            // Kestrel's own endpoint settings can bind addresses that Urls never named.
            if (!authenticator.Enabled && !serverOptions.AllowNonLoopbackWithoutKeys
                && context.Connection.LocalIpAddress is { } local && !System.Net.IPAddress.IsLoopback(local))
            {
                await Problems.Create(StatusCodes.Status403Forbidden, "Forbidden",
                    "This server has no API keys and serves loopback connections only.").ExecuteAsync(context).ConfigureAwait(false);
                return;
            }
            // SECURITY: deny by default. Every path needs a key except the probes and documents
            // (a prefix check on "/v1" was bypassed by "/V1/run": routing ignores case).
            if (authenticator.Enabled && !IsPublicPath(context.Request.Path))
            {
                if (authenticator.Authenticate(context) is not { } key)
                {
                    context.Response.Headers.WWWAuthenticate = "Bearer";
                    await Problems.Create(StatusCodes.Status401Unauthorized, "Unauthorized",
                        "A valid API key is required: Authorization: Bearer <key>.").ExecuteAsync(context).ConfigureAwait(false);
                    return;
                }
                context.Items[TenantQuotas.KeyItem] = key;
            }
            await next(context).ConfigureAwait(false);
        });
        app.UseRateLimiter();
        app.MapPost("/v1/run", RunEndpoint.HandleAsync)
            .Accepts<RunRequest>("application/json")
            .Produces(StatusCodes.Status200OK, contentType: "application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithName("Run")
            .WithSummary("Run one script (or ES module) under limits and return its outcome.");
        // The OpenAPI document of this service, at /openapi/v1.json.
        app.MapOpenApi();
        HealthEndpoints.Map(app);
        app.MapMetrics("/metrics", app.Services.GetRequiredService<ServerMetrics>().Registry);
        // The playground page at "/" (ServerOptions.Playground), which runs scripts through /v1/run.
        app.MapPlayground(serverOptions, sandboxOptions);
        return app;
    }

    /// <summary>The addresses the started server listens on (with the real port when 0 was asked for).</summary>
    public static IReadOnlyList<string> ListeningAddresses(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
    /// <summary>
    /// Registers the configured fetch origins and webhooks in the sandbox's options (what API keys may then be
    /// granted); a problem with one is a configuration error, said at start. Returns the webhooks' HTTP client,
    /// which the service's container disposes.
    /// </summary>
    private static WebhookCaller RegisterCapabilities(SandboxOptions sandbox, ServerOptions server, List<string> errors)
    {
        var origins = server.FetchOrigins ?? [];
        for (int i = 0; i < origins.Count; i++)
        {
            try
            {
                sandbox.FetchOrigins.Add(origins[i].Origin ?? "", origins[i].Headers ?? []);
            }
            catch (ArgumentException e)
            {
                string message = e.Message.Split(" (Parameter", 2)[0];
                errors.Add($"FetchOrigins[{i}]: {(origins[i].Origin is { Length: > 0 } text ? message.Replace(text, WithoutUserInfo(text), StringComparison.Ordinal) : message)}");
            }
        }
        foreach (var key in server.ApiKeys ?? [])
        {
            foreach (var origin in key.FetchOrigins ?? [])
            {
                if (sandbox.FetchOrigins.Find(origin) is null)
                {
                    errors.Add($"ApiKeys: '{key.Name}' is granted the origin '{WithoutUserInfo(origin ?? "")}', which FetchOrigins does not list.");
                }
            }
        }
        var caller = new WebhookCaller(sandbox.Limits.MaxHostCallResultBytes);
        foreach (var webhook in server.Webhooks ?? [])
        {
            if (!HostFunctionCollection.IsValidName(webhook.Name) || !Uri.TryCreate(webhook.Url, UriKind.Absolute, out _))
            {
                continue;   // ServerOptions.Validate said why
            }
            try
            {
                sandbox.HostFunctions.Add(webhook.Name, caller.FunctionFor(webhook));
            }
            catch (ArgumentException e)
            {
                errors.Add($"Webhooks: {e.Message.Split(" (Parameter", 2)[0]}");
            }
        }
        return caller;
    }

    /// <summary>
    /// <paramref name="text"/> with everything between its scheme and its last <c>@</c> (user information such as
    /// <c>user:password</c>, however the password is spelt) replaced by <c>***</c>. SECURITY: an origin configured with
    /// a password is refused, and the refusal goes to the start-up error and the logs: it must not carry the password
    /// there (attack review). No origin that can be granted has an <c>@</c>, so only refused text is changed.
    /// </summary>
    internal static string WithoutUserInfo(string text)
    {
        int at = text.LastIndexOf('@');
        if (at < 0)
        {
            return text;
        }
        int start = text.IndexOf("://", StringComparison.Ordinal);
        return start < 0 || start + 3 > at ? "***" + text[at..] : string.Concat(text.AsSpan(0, start + 3), "***", text.AsSpan(at));
    }

    private static void Bind(IConfiguration configuration, string section, object options, List<string> errors)
    {
        try
        {
            configuration.GetSection(section).Bind(options);
        }
        catch (InvalidOperationException e)
        {
            errors.Add($"{section}: {e.Message}");
        }
        catch (System.Reflection.TargetInvocationException e) when (e.InnerException is ArgumentOutOfRangeException refused)
        {
            // Options whose setters refuse nonsense at once (SandboxLimits, WarmIsolateOptions) throw from
            // inside the binder's reflection call: report it like any other problem, not as a crash.
            errors.Add($"{section}: {refused.Message.Split(" (Parameter", 2)[0]} (got {refused.ActualValue})");
        }
    }

    /// <summary>Paths served without a key: liveness, readiness, metrics, the API description and the playground page (whose runs need one).</summary>
    internal static bool IsPublicPath(PathString path) =>
        HealthEndpoints.IsProbe(path)
        || path.Equals("/", StringComparison.Ordinal) || path.StartsWithSegments("/playground", StringComparison.OrdinalIgnoreCase)
        || path.Equals("/metrics", StringComparison.OrdinalIgnoreCase)
        || path.StartsWithSegments("/openapi", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The addresses the server really listens on, checked after start: Kestrel's own configuration
    /// (<c>Kestrel:Endpoints</c>) overrides <see cref="ServerOptions.Urls"/>, so the check on Urls alone
    /// could be bypassed. Returns the offending addresses (none when keys are configured or allowed).
    /// </summary>
    internal static IReadOnlyList<string> UnprotectedPublicAddresses(WebApplication app, ServerOptions options)
    {
        if (options.ApiKeys.Count > 0 || options.AllowNonLoopbackWithoutKeys)
        {
            return [];
        }
        return [.. ListeningAddresses(app).Where(a => !ServerOptions.IsLoopbackUrl(a))];
    }
}

/// <summary>The service's configuration is invalid; every problem is listed.</summary>
public sealed class ServerConfigurationException(IReadOnlyList<string> errors)
    : InvalidOperationException("Invalid Warden server configuration:" + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(e => "  - " + e)))
{
    /// <summary>One message per problem.</summary>
    public IReadOnlyList<string> Errors { get; } = errors;
}
