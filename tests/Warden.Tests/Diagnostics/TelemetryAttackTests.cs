using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using Warden.Diagnostics;
using Warden.Tests.Server;

namespace Warden.Tests.Diagnostics;

/// <summary>
/// Attacks on telemetry: script- or caller-written text (error names and messages, an unknown engine's name, an
/// isolation key, an over-long key) trying to reach a span or metric attribute, and a collector that never answers
/// trying to hold executions up.
/// </summary>
[Collection("sandbox")]
public sealed class TelemetryAttackTests
{
    private const string Marker = "TELEMETRY-ATTACK-MARKER";

    private static readonly HashSet<string> Statuses = [.. Enum.GetValues<OutcomeStatus>().Select(s => s.ToWireString())];

    [Fact]
    public async Task ScriptAndCallerTextReachNoAttribute()
    {
        var stopped = new ConcurrentBag<Activity>();
        using var activities = new ActivityListener
        {
            ShouldListenTo = source => source.Name == WardenTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Add,
        };
        ActivitySource.AddActivityListener(activities);
        await using var sandbox = new Sandbox(new SandboxOptions { MaxWorkers = 1, SpareWorkers = 1 });
        var measured = new ConcurrentBag<KeyValuePair<string, object?>>();
        using var meters = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, sandbox))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        void Record<T>(Instrument _, T __, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? ___)
        {
            foreach (var tag in tags)
            {
                measured.Add(tag);
            }
        }
        meters.SetMeasurementEventCallback<long>(Record);
        meters.SetMeasurementEventCallback<double>(Record);
        meters.SetMeasurementEventCallback<int>(Record);
        meters.Start();
        await sandbox.WarmUpAsync();

        using var parent = new Activity("telemetry-attack").SetIdFormat(ActivityIdFormat.W3C).Start();
        var submissions = new Submission[]
        {
            // An error whose class name, message and stack are the script's words.
            new() { Code = $"class {Marker.Replace('-', '_')} extends Error {{}}; throw new {Marker.Replace('-', '_')}('{Marker}')", IsolationKey = Marker + "-key" },
            // An error object whose name is a long hostile string.
            new() { Code = $"const e = new Error('{Marker}'); e.name = '{Marker}' + 'x'.repeat(5000); throw e" },
            // A rejected value that is not an Error.
            new() { Code = $"Promise.reject('{Marker}')" },
            // An engine the sandbox does not offer: refused, and the name must not become the engine attribute.
            new() { Code = "1", Engine = Marker },
            // An over-long isolation key (refused): not hashed, not kept.
            new() { Code = "1", IsolationKey = Marker + new string('k', Submission.MaxIsolationKeyLength) },
        };
        foreach (var submission in submissions)
        {
            await sandbox.RunAsync(submission);
        }
        parent.Stop();
        meters.RecordObservableInstruments();

        var mine = stopped.Where(a => a.TraceId == parent.TraceId).ToList();
        Assert.Equal(submissions.Length, mine.Count);
        foreach (var activity in mine)
        {
            foreach (var (name, value) in activity.TagObjects)
            {
                Assert.DoesNotContain(Marker, value?.ToString() ?? "", StringComparison.OrdinalIgnoreCase);
                switch (name)
                {
                    case "warden.engine": Assert.Contains(value as string, new[] { "v8", "quickjs" }); break;
                    case "warden.execution.status": Assert.Contains((string)value!, Statuses); break;
                    case "error.type": Assert.Contains(value as string, new[] { OutcomeStatus.InternalError.ToWireString(), "overloaded", "cancelled", "disposed", "exception" }); break;
                    case "warden.isolation_key.hash": Assert.Matches("^[0-9a-f]{16}$", (string)value!); break;
                }
            }
            Assert.DoesNotContain(Marker, activity.StatusDescription ?? "");
            Assert.Empty(activity.Events);
        }
        // The over-long key's activity carries no hash; the first submission's does.
        Assert.Equal(1, mine.Count(a => a.GetTagItem("warden.isolation_key.hash") is not null));
        Assert.Equal(IsolationKeyHash.Of(Marker + "-key"), mine.Single(a => a.GetTagItem("warden.isolation_key.hash") is not null).GetTagItem("warden.isolation_key.hash"));

        Assert.NotEmpty(measured);
        Assert.All(measured, tag => Assert.DoesNotContain(Marker, tag.Value?.ToString() ?? "", StringComparison.OrdinalIgnoreCase));
        Assert.All(measured.Where(t => t.Key == "warden.engine"), t => Assert.Contains(t.Value as string, new[] { "v8", "quickjs" }));
    }

    [Fact]
    public async Task ACollectorThatNeverAnswersDoesNotHoldExecutionsUp()
    {
        // A collector that accepts connections and then says nothing: exports hang until their own timeout. Spans are
        // exported from a batch on the SDK's thread, metrics on a timer: an execution must never wait for either.
        using var hanging = new TcpListener(IPAddress.Loopback, 0);
        hanging.Start();
        var held = new ConcurrentBag<TcpClient>();
        using var stop = new CancellationTokenSource();
        var accepting = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    held.Add(await hanging.AcceptTcpClientAsync(stop.Token));
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        string endpoint = $"http://127.0.0.1:{((IPEndPoint)hanging.LocalEndpoint).Port}";
        foreach (string protocol in new[] { "http/protobuf", "grpc" })
        {
            var (app, client) = await ServerFixture.StartAsync(s => s.MaxWorkers = 1, o =>
            {
                o.Telemetry.OtlpEndpoint = endpoint;
                o.Telemetry.OtlpProtocol = protocol;
            });
            var slowest = TimeSpan.Zero;
            var stopTime = TimeSpan.Zero;
            try
            {
                for (int i = 0; i < 30; i++)
                {
                    var watch = Stopwatch.StartNew();
                    var response = await client.PostAsync("/v1/run", ServerFixture.Json("""{"code":"6 * 7"}"""));
                    watch.Stop();
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                    slowest = watch.Elapsed > slowest ? watch.Elapsed : slowest;
                }
            }
            finally
            {
                client.Dispose();
                var watch = Stopwatch.StartNew();
                await app.StopAsync();
                await app.DisposeAsync();
                stopTime = watch.Elapsed;
            }
            Assert.True(slowest < TimeSpan.FromSeconds(3), $"{protocol}: an execution took {slowest} with a hanging collector");
            // Stopping flushes the exporters, each bounded by its own timeout (10 s by default): slow, never stuck.
            Assert.True(stopTime < TimeSpan.FromSeconds(60), $"{protocol}: stopping took {stopTime} with a hanging collector");
        }
        Assert.NotEmpty(held);   // the exporters did try the collector
        stop.Cancel();
        await accepting;
        foreach (var connection in held)
        {
            connection.Dispose();
        }
    }
}
