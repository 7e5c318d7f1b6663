using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Warden.Tests;

/// <summary>What a <see cref="CountingServer"/> saw of one request, before its handler ran.</summary>
internal sealed record SeenRequest(string Method, string RawTarget, Dictionary<string, string[]> Headers, byte[] Body)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var values) ? string.Join(", ", values) : null;
}

/// <summary>
/// An in-process Kestrel on 127.0.0.1:0 that counts and records every request it receives (what a granted or refused
/// fetch, or a webhook, really sent), how many it handled at once, and how many its clients abandoned.
/// </summary>
internal sealed class CountingServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _count;
    private int _inFlight;
    private int _maxInFlight;
    private int _abortedCount;

    private CountingServer(WebApplication app) => _app = app;

    public int Port { get; private set; }

    public int Count => Volatile.Read(ref _count);

    public ConcurrentQueue<SeenRequest> Seen { get; } = new();

    /// <summary>Most requests being handled at once.</summary>
    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    /// <summary>Requests whose client went away before their handler finished.</summary>
    public int AbortedCount => Volatile.Read(ref _abortedCount);

    /// <summary>Completed when a request's connection is aborted by the client (RequestAborted).</summary>
    public TaskCompletionSource Aborted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Origin => $"http://127.0.0.1:{Port}";

    public static async Task<CountingServer> StartAsync(RequestDelegate handler, IPAddress? listen = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(listen ?? IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new CountingServer(app);
        app.Run(async context =>
        {
            Interlocked.Increment(ref server._count);
            int now = Interlocked.Increment(ref server._inFlight);
            for (int max = Volatile.Read(ref server._maxInFlight); now > max; max = Volatile.Read(ref server._maxInFlight))
            {
                Interlocked.CompareExchange(ref server._maxInFlight, now, max);
            }
            context.RequestAborted.Register(() =>
            {
                Interlocked.Increment(ref server._abortedCount);
                server.Aborted.TrySetResult();
            });
            try
            {
                using var body = new MemoryStream();
                await context.Request.Body.CopyToAsync(body);
                server.Seen.Enqueue(new SeenRequest(
                    context.Request.Method,
                    context.Features.Get<IHttpRequestFeature>()!.RawTarget,
                    context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.Select(v => v ?? "").ToArray(), StringComparer.OrdinalIgnoreCase),
                    body.ToArray()));
                await handler(context);
            }
            finally
            {
                Interlocked.Decrement(ref server._inFlight);
            }
        });
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Port = new Uri(address).Port;
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }
}
