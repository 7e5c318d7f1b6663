using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Warden.Server;

/// <summary>
/// The checks that keep browsers from turning <c>warden serve</c> against its operator: the <c>Host</c> allowlist
/// (DNS rebinding, <see cref="HostAllowlist"/>) and the cross-site check on requests that run code
/// (<see cref="CrossSiteRequestCheck"/>). Runs before authentication, so a foreign request is refused whatever key it
/// carries, and before the body is read.
/// </summary>
internal static class BrowserDefences
{
    /// <summary>Set on a probe's request whose Host the allowlist refuses: the probe then says only up or down.</summary>
    public const string ForeignHostProbeItem = "warden.foreign-host-probe";

    public static void UseBrowserDefences(this WebApplication app, ServerOptions options)
    {
        var hosts = new HostAllowlist(options);
        app.Use(async (context, next) =>
        {
            // SECURITY: no response of this server is meant to be sniffed into a script or a stylesheet (an outcome is
            // attacker-written text served as application/json).
            context.Response.Headers.XContentTypeOptions = "nosniff";
            // SECURITY: DNS rebinding (see HostAllowlist): the Host header is the one thing a rebinding page cannot forge.
            // The two probes are exempt: an orchestrator calls them by the pod's address, which nobody lists, and they
            // tell a rebinding page only that the server is up — nothing runs, nothing is read.
            bool allowedHost = hosts.Allows(context.Request.Host);
            if (HealthEndpoints.IsProbe(context.Request.Path))
            {
                if (!allowedHost)
                {
                    // SECURITY: under a foreign name the probes answer with their status alone: their text names the
                    // OS isolation layers missing on this machine and when worker starts failed, which a rebinding page
                    // has no business reading (HealthEndpoints).
                    context.Items[ForeignHostProbeItem] = true;
                }
            }
            else if (!allowedHost)
            {
                await Problems.Create(StatusCodes.Status400BadRequest, "Unknown host",
                    "The Host header names neither a loopback address nor one of Warden:Server:AllowedHosts; "
                    + "this server refuses other names so that no web page can reach it through DNS rebinding.").ExecuteAsync(context).ConfigureAwait(false);
                return;
            }
            // SECURITY: a page on another origin must not run code here (see CrossSiteRequestCheck).
            if (CrossSiteRequestCheck.Problem(context.Request) is { } crossSite)
            {
                await Problems.Create(StatusCodes.Status403Forbidden, "Cross-site request refused", crossSite).ExecuteAsync(context).ConfigureAwait(false);
                return;
            }
            await next(context).ConfigureAwait(false);
        });
    }
}
