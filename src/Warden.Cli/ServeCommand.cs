using System.CommandLine;
using Warden;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Warden.Server;

namespace Warden.Cli;

/// <summary>
/// `warden serve`: the HTTP service (POST /v1/run, /healthz, /readyz) on loopback by default.
/// Everything else is configured through appsettings.json in the current directory or environment
/// variables (Warden__Sandbox__MaxWorkers, Warden__Server__MaxRequestBodyBytes, ...).
/// </summary>
internal static class ServeCommand
{
    public static Command Build(TextWriter stderr, Action<SandboxOptions>? configureSandbox = null)
    {
        var urls = new Option<string?>("--urls") { Description = "Where to listen, e.g. http://127.0.0.1:8080 (loopback only unless configured otherwise).", HelpName = "URLS" };
        var isolation = IsolationOption.Create();
        var command = new Command("serve", "Run the HTTP service: POST /v1/run returns the outcome JSON; GET /healthz, GET /readyz.") { urls, isolation };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var mode = IsolationOption.Parse(parse.GetValue(isolation));
            string? listen = parse.GetValue(urls);
            Microsoft.AspNetCore.Builder.WebApplication app;
            try
            {
                app = WardenServer.Build([], sandbox =>
                {
                    sandbox.OsIsolation = mode;
                    configureSandbox?.Invoke(sandbox);
                }, server =>
                {
                    if (listen is not null)
                    {
                        server.Urls = listen;
                    }
                });
            }
            catch (ServerConfigurationException e)
            {
                await stderr.WriteLineAsync("warden: " + e.Message).ConfigureAwait(false);
                return 64;
            }
            catch (IsolationUnavailableException e)
            {
                await stderr.WriteLineAsync("warden: " + e.Message).ConfigureAwait(false);
                return 70;
            }
            await using var _ = app.ConfigureAwait(false);
            // SIGINT/SIGTERM: Kestrel stops accepting, in-flight executions drain (ShutdownDrainTimeout),
            // then the sandbox is disposed and its workers are killed.
            try
            {
                await app.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or InvalidOperationException)
            {
                // Address in use, https without a certificate, ...: one line, no stack trace.
                await stderr.WriteLineAsync("warden: the server could not start: " + e.Message).ConfigureAwait(false);
                return 70;
            }
            if (WardenServer.UnprotectedPublicAddresses(app, app.Services.GetRequiredService<ServerOptions>()) is { Count: > 0 } exposed)
            {
                await stderr.WriteLineAsync($"warden: listening on {string.Join(", ", exposed)} without any API key is refused (set by Kestrel's own configuration?); "
                    + "configure ApiKeys or AllowNonLoopbackWithoutKeys.").ConfigureAwait(false);
                await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
                return 64;
            }
            try
            {
                await app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            }
            return 0;
        });
        return command;
    }
}
