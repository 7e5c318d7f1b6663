using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Warden.Server;

namespace Warden.Tests.Server;

/// <summary>The real service, started on a loopback port of its own and driven over HTTP.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public WebApplication App { get; private set; } = null!;
    public HttpClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        (App, Client) = await StartAsync(o => o.MaxWorkers = 3);
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }

    internal static async Task<(WebApplication, HttpClient)> StartAsync(Action<SandboxOptions> sandbox, Action<ServerOptions>? server = null)
    {
        var app = WardenServer.Build([], s => { s.SpareWorkers = 1; sandbox(s); }, o => { o.Urls = "http://127.0.0.1:0"; server?.Invoke(o); });
        await app.StartAsync();
        var client = new HttpClient { BaseAddress = new Uri(WardenServer.ListeningAddresses(app)[0]), Timeout = TimeSpan.FromSeconds(60) };
        // Ready means the spare workers are warm.
        for (int i = 0; i < 300 && !(await client.GetAsync("/readyz")).IsSuccessStatusCode; i++)
        {
            await Task.Delay(50);
        }
        return (app, client);
    }

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public async Task<(int Status, JsonElement Body, HttpResponseMessage Response)> PostAsync(string json, HttpClient? client = null)
    {
        var response = await (client ?? Client).PostAsync("/v1/run", Json(json));
        string text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, JsonDocument.Parse(text).RootElement, response);
    }
}
