using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Warden.Server;

/// <summary>
/// <c>/healthz</c> (checks tagged <c>live</c>) and <c>/readyz</c> (tagged <c>ready</c>) on ASP.NET Core's health checks:
/// 200 <c>ok</c>, and 200 <c>ready; every OS layer active</c> (or the missing layers); otherwise a 503 problem naming
/// what is not healthy (the check's own fixed words, never an exception's text), with <c>Retry-After</c> on readiness.
/// </summary>
internal static class HealthEndpoints
{
    public const string LivePath = "/healthz", ReadyPath = "/readyz";

    /// <summary>The two probes (an orchestrator's liveness and readiness), in any letter case.</summary>
    public static bool IsProbe(PathString path) =>
        path.Equals(LivePath, StringComparison.OrdinalIgnoreCase) || path.Equals(ReadyPath, StringComparison.OrdinalIgnoreCase);

    public static void Register(IServiceCollection services) =>
        services.AddHealthChecks()
            .AddWardenHealthChecks()
            .Add(new HealthCheckRegistration(Readiness.CheckName, sp => sp.GetRequiredService<Readiness>(), HealthStatus.Unhealthy, ["ready"]));

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapHealthChecks(LivePath, new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains("live"),
            ResponseWriter = (context, report) => Write(context, report, "Not live", "ok", retryAfterSeconds: null),
        });
        app.MapHealthChecks(ReadyPath, new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains("ready"),
            ResponseWriter = (context, report) => Write(context, report, "Not ready",
                "ready; " + (report.Entries.TryGetValue(WardenHealthCheckBuilderExtensions.ReadyCheckName, out var ready)
                    && ready.Data.TryGetValue(WardenHealthCheckBuilderExtensions.IsolationDataKey, out var isolation) ? isolation : "isolation unknown"),
                retryAfterSeconds: 1),
        });
    }

    private static Task Write(HttpContext context, HealthReport report, string title, string healthyText, int? retryAfterSeconds)
    {
        // SECURITY: a Host the allowlist refuses (a DNS-rebinding page, see BrowserDefences) gets the status alone, not
        // the isolation report nor the checks' descriptions (which layers are missing, when worker starts failed).
        bool statusOnly = context.Items.ContainsKey(BrowserDefences.ForeignHostProbeItem);
        if (report.Status != HealthStatus.Unhealthy)
        {
            context.Response.ContentType = "text/plain; charset=utf-8";
            return context.Response.WriteAsync(statusOnly ? healthyText.Split(';')[0] : healthyText);
        }
        // SECURITY: an exception's text can carry paths and internals: a check that threw is named, not quoted.
        string detail = statusOnly ? title + "." : string.Join(" ", report.Entries.Where(e => e.Value.Status == HealthStatus.Unhealthy)
            .Select(e => e.Value.Exception is null ? e.Value.Description ?? e.Key : e.Key + " failed."));
        return Problems.Create(StatusCodes.Status503ServiceUnavailable, title, detail, retryAfterSeconds: retryAfterSeconds).ExecuteAsync(context);
    }
}
