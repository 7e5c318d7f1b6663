using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Warden.Tests.Server;

namespace Warden.Tests.Diagnostics;

/// <summary>
/// <c>warden serve</c> with an OTLP endpoint configured exports an execution's span and the Warden metrics to it:
/// a loopback OTLP/HTTP receiver (protobuf bodies, only their bytes looked at) takes the place of a collector.
/// </summary>
[Collection("sandbox")]
public sealed class OtlpExportTests
{
    private const string ScriptMarker = "OTLP-SCRIPT-MARKER";

    /// <summary>Accepts every POST, keeps its path and body, answers 200 with an empty body (a valid empty export response).</summary>
    private sealed class OtlpReceiver : IDisposable
    {
        private readonly HttpListener _listener = new();
        public ConcurrentQueue<(string Path, string ContentType, byte[] Body)> Requests { get; } = new();
        public string BaseAddress { get; }

        public OtlpReceiver()
        {
            int port;
            using (var probe = new TcpListener(IPAddress.Loopback, 0))
            {
                probe.Start();
                port = ((IPEndPoint)probe.LocalEndpoint).Port;
            }
            BaseAddress = $"http://127.0.0.1:{port}";
            _listener.Prefixes.Add(BaseAddress + "/");
            _listener.Start();
            _ = Task.Run(ServeAsync);
        }

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }
                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                Requests.Enqueue((context.Request.Url!.AbsolutePath, context.Request.ContentType ?? "", body.ToArray()));
                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/x-protobuf";
                context.Response.Close();
            }
        }

        public void Dispose() => _listener.Close();
    }

    private static bool Contains(byte[] body, string text) => body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;

    [Fact]
    public async Task AnExecutionsSpanAndMetricsAreExportedOverOtlp()
    {
        using var receiver = new OtlpReceiver();
        var (app, client) = await ServerFixture.StartAsync(s => s.MaxWorkers = 1, o =>
        {
            o.Telemetry.OtlpEndpoint = receiver.BaseAddress;
            o.Telemetry.OtlpProtocol = "http/protobuf";
        });
        try
        {
            var response = await client.PostAsync("/v1/run", ServerFixture.Json($$"""{ "code": "'{{ScriptMarker}}'.length", "isolationKey": "tenant-otlp" }"""));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        finally
        {
            client.Dispose();
            // Stopping the service flushes its tracer and meter providers: the batched spans and a last metrics export.
            await app.StopAsync();
            await app.DisposeAsync();
        }
        var requests = receiver.Requests.ToList();
        var traces = requests.Where(r => r.Path == "/v1/traces").ToList();
        var metrics = requests.Where(r => r.Path == "/v1/metrics").ToList();
        Assert.NotEmpty(traces);
        Assert.NotEmpty(metrics);
        Assert.All(requests, r => Assert.Equal("application/x-protobuf", r.ContentType));
        Assert.Contains(traces, r => Contains(r.Body, "warden.execute") && Contains(r.Body, "Warden") && Contains(r.Body, "warden.execution.status"));
        Assert.Contains(metrics, r => Contains(r.Body, "warden.executions") && Contains(r.Body, "warden.execution.duration") && Contains(r.Body, "Warden"));
        // SECURITY: neither the script nor the clear isolation key leaves in telemetry.
        Assert.All(requests, r =>
        {
            Assert.False(Contains(r.Body, ScriptMarker));
            Assert.False(Contains(r.Body, "tenant-otlp"));
        });
    }
}
