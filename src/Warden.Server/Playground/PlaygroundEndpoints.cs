using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Warden.Server;

/// <summary>
/// The playground: a static page (HTML, one script, one stylesheet, an icon, all embedded in this assembly, no CDN) at
/// <c>GET /</c> and under <c>/playground/</c>, plus <c>/playground/config.json</c> telling it what this server offers.
/// It runs scripts through <c>POST /v1/run</c> like any other client. 404 when <see cref="PlaygroundSwitch"/> says off.
/// </summary>
internal static class PlaygroundEndpoints
{
    /// <summary>
    /// SECURITY: the page renders attacker-written outcomes. Only its own script and stylesheet may run or style it (no
    /// inline code, so an injected element could not run anything); it may talk only to this server; no plugin, frame,
    /// form target or base URL; no site may frame it (clickjacking the Run button). Trusted Types with no policy make
    /// the browser itself refuse any string assigned to innerHTML and the like, so outcome text can only become text.
    /// </summary>
    internal const string ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        + "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "
        + "require-trusted-types-for 'script'; trusted-types 'none'";

    private static readonly (string Path, string Resource, string ContentType)[] Assets =
    [
        ("/", "index.html", "text/html; charset=utf-8"),
        ("/playground/playground.js", "playground.js", "text/javascript; charset=utf-8"),
        ("/playground/playground.css", "playground.css", "text/css; charset=utf-8"),
        ("/playground/icon.svg", "icon.svg", "image/svg+xml"),
    ];

    public static void MapPlayground(this WebApplication app, ServerOptions serverOptions, SandboxOptions sandboxOptions)
    {
        var playground = new PlaygroundSwitch(serverOptions.Playground, () => WardenServer.ListeningAddresses(app));
        foreach (var (path, resource, contentType) in Assets)
        {
            byte[] content = Read(resource);
            app.MapGet(path, (HttpContext context) => playground.Enabled ? Served(context, content, contentType) : Results.NotFound())
                .ExcludeFromDescription();
        }
        byte[] config = Config(serverOptions, sandboxOptions);
        app.MapGet("/playground/config.json", (HttpContext context) =>
                playground.Enabled ? Served(context, config, "application/json; charset=utf-8") : Results.NotFound())
            .ExcludeFromDescription();
    }

    private static IResult Served(HttpContext context, byte[] content, string contentType)
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        // SECURITY: the page's URL is nobody else's business; no other origin may open it into a shared window or
        // embed its resources (its script and config).
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers["Cross-Origin-Resource-Policy"] = "same-origin";
        headers.CacheControl = "no-cache";
        return Results.Bytes(content, contentType);
    }

    /// <summary>
    /// What the page needs to offer honest choices: the engines (<see cref="PlaygroundEngines"/>), the default one, the
    /// limits' defaults and maxima, and whether runs need an API key. Nothing secret: all of it is what a request's
    /// 400 would say anyway.
    /// </summary>
    internal static byte[] Config(ServerOptions serverOptions, SandboxOptions sandboxOptions)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("engines");
            foreach (var engine in PlaygroundEngines.Offered)
            {
                w.WriteStartObject();
                w.WriteString("name", engine.Name);
                w.WriteBoolean("countsFuel", engine.CountsFuel);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteString("defaultEngine", sandboxOptions.DefaultEngine);
            w.WriteBoolean("apiKeyRequired", (serverOptions.ApiKeys?.Count ?? 0) > 0);
            var limits = sandboxOptions.Limits;
            w.WriteStartObject("limits");
            w.WriteNumber("defaultTimeoutMs", limits.DefaultTimeoutMs);
            w.WriteNumber("maxTimeoutMs", limits.MaxTimeoutMs);
            w.WriteNumber("defaultMemoryMb", limits.DefaultMemoryMb);
            w.WriteNumber("maxMemoryMb", limits.MaxMemoryMb);
            w.WriteNumber("minMemoryMb", SandboxLimits.MinMemoryMb);
            w.WriteNumber("maxFuel", limits.MaxFuel);
            if (limits.DefaultFuel is { } fuel)
            {
                w.WriteNumber("defaultFuel", fuel);
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static byte[] Read(string name)
    {
        using var stream = typeof(PlaygroundEndpoints).Assembly.GetManifestResourceStream("Warden.Server.Playground." + name)
            ?? throw new InvalidOperationException($"The playground's {name} is not embedded in Warden.Server.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
