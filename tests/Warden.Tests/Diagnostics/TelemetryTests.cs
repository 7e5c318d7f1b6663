using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Warden.Diagnostics;

namespace Warden.Tests.Diagnostics;

/// <summary>
/// The library's meter and activity source, seen by the same listeners OpenTelemetry uses: one <c>warden.execute</c>
/// activity per execution with bounded attributes, and instruments that count executions, limits and retirements —
/// never the script, its input, its result or a clear isolation key.
/// </summary>
[Collection("sandbox")]
public sealed class TelemetryTests
{
    private const string ScriptMarker = "SCRIPT-TEXT-MARKER";
    private const string ResultMarker = "RESULT-MARKER";
    private const string InputMarker = "INPUT-MARKER";
    private const string TenantKey = "tenant-acme-corp";

    private static Submission Ok() => new()
    {
        Code = $"const unused = '{ScriptMarker}'; console.log('{ScriptMarker}'); input.word + '{ResultMarker}'",
        InputJson = $"{{\"word\":\"{InputMarker}\"}}",
        IsolationKey = TenantKey,
    };

    private static Submission Timeout() => new()
    {
        Code = $"// {ScriptMarker}\nwhile (true) {{}}",
        Limits = new ExecutionLimits(TimeoutMs: 150),
        IsolationKey = TenantKey,
    };

    private static Submission MemoryBomb() => new()
    {
        Code = $"// {ScriptMarker}\nnew ArrayBuffer(64 << 20); 1",
        Limits = new ExecutionLimits(MemoryMb: 16),
        IsolationKey = TenantKey,
    };

    private static void AssertNothingPrivate(string text)
    {
        Assert.DoesNotContain(ScriptMarker, text);
        Assert.DoesNotContain(ResultMarker, text);
        Assert.DoesNotContain(InputMarker, text);
        Assert.DoesNotContain(TenantKey, text);
    }

    [Fact]
    public async Task EachExecutionIsOneActivityWithBoundedTags()
    {
        var stopped = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == WardenTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Add,
        };
        ActivitySource.AddActivityListener(listener);
        await using var sandbox = new Sandbox(new SandboxOptions { MaxWorkers = 1, SpareWorkers = 1 });
        await sandbox.WarmUpAsync();

        // Other tests' sandboxes may run at the same time: this test's activities are the children of its own trace.
        using var parent = new Activity("telemetry-test").SetIdFormat(ActivityIdFormat.W3C).Start();
        var ok = await sandbox.RunAsync(Ok());
        var timeout = await sandbox.RunAsync(Timeout());
        parent.Stop();
        OutcomeAssert.Status(OutcomeStatus.Ok, ok);
        OutcomeAssert.Status(OutcomeStatus.Timeout, timeout);

        var mine = stopped.Where(a => a.TraceId == parent.TraceId).OrderBy(a => a.StartTimeUtc).ToList();
        Assert.Equal(2, mine.Count);
        Assert.All(mine, a =>
        {
            Assert.Equal("warden.execute", a.OperationName);
            Assert.Equal(ActivityKind.Internal, a.Kind);
            Assert.Equal(parent.SpanId, a.ParentSpanId);
            Assert.Equal("v8", a.GetTagItem("warden.engine"));
            Assert.True((int)a.GetTagItem("warden.worker.pid")! > 0);
            Assert.True((double)a.GetTagItem("warden.execution.queue.duration")! >= 0);
            // SECURITY: the key only as its truncated SHA-256, the same for the same key.
            Assert.Equal(IsolationKeyHash.Of(TenantKey), a.GetTagItem("warden.isolation_key.hash"));
            Assert.Matches("^[0-9a-f]{16}$", (string)a.GetTagItem("warden.isolation_key.hash")!);
            AssertNothingPrivate(string.Join("\n", a.TagObjects.Select(t => t.Key + "=" + t.Value))
                + a.DisplayName + string.Join("\n", a.Events.Select(e => e.Name)) + a.StatusDescription);
        });
        Assert.Equal("ok", mine[0].GetTagItem("warden.execution.status"));
        Assert.Null(mine[0].GetTagItem("warden.limit"));
        Assert.Equal(ActivityStatusCode.Unset, mine[0].Status);
        Assert.Equal("timeout", mine[1].GetTagItem("warden.execution.status"));
        Assert.Equal(timeout.Error!.Limit!.Value.ToWireString(), mine[1].GetTagItem("warden.limit"));
        // The timeout is the script's outcome, not Warden failing.
        Assert.Equal(ActivityStatusCode.Unset, mine[1].Status);
    }

    [Fact]
    public async Task InstrumentsRecordExecutionsLimitsAndRetirements()
    {
        await using var sandbox = new Sandbox(new SandboxOptions { MaxWorkers = 1, SpareWorkers = 1 });
        var measurements = new ConcurrentQueue<(string Name, string? Unit, double Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener
        {
            // Only this test's sandbox: each sandbox's meter has the sandbox as its scope.
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == WardenTelemetry.MeterName && ReferenceEquals(instrument.Meter.Scope, sandbox))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        void Record<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state) where T : struct =>
            measurements.Enqueue((instrument.Name, instrument.Unit, Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture),
                tags.ToArray().ToDictionary(t => t.Key, t => t.Value)));
        listener.SetMeasurementEventCallback<int>(Record);
        listener.SetMeasurementEventCallback<long>(Record);
        listener.SetMeasurementEventCallback<double>(Record);
        listener.Start();

        await sandbox.WarmUpAsync();
        OutcomeAssert.Status(OutcomeStatus.Ok, await sandbox.RunAsync(Ok()));
        var timeout = await sandbox.RunAsync(Timeout());
        OutcomeAssert.Status(OutcomeStatus.Timeout, timeout);
        var bomb = await sandbox.RunAsync(MemoryBomb());
        OutcomeAssert.Status(OutcomeStatus.MemoryLimit, bomb);
        listener.RecordObservableInstruments();
        var all = measurements.ToList();
        List<(string Name, string? Unit, double Value, Dictionary<string, object?> Tags)> Named(string name) => [.. all.Where(m => m.Name == name)];
        static object? Tag(Dictionary<string, object?> tags, string key) => tags.GetValueOrDefault(key);

        var executions = Named("warden.executions");
        Assert.Equal(3, executions.Count);
        Assert.All(executions, m => Assert.Equal("{execution}", m.Unit));
        Assert.Single(executions, m => Tag(m.Tags, "warden.execution.status") is "ok" && Tag(m.Tags, "warden.engine") is "v8" && !m.Tags.ContainsKey("warden.limit"));
        Assert.Single(executions, m => Tag(m.Tags, "warden.execution.status") is "timeout"
            && (string?)Tag(m.Tags, "warden.limit") == timeout.Error!.Limit!.Value.ToWireString());
        Assert.Single(executions, m => Tag(m.Tags, "warden.execution.status") is "memory_limit"
            && (string?)Tag(m.Tags, "warden.limit") == bomb.Error!.Limit!.Value.ToWireString());

        var durations = Named("warden.execution.duration");
        Assert.Equal(3, durations.Count);
        Assert.All(durations, m => Assert.Equal("s", m.Unit));
        // The timeout's wall time is its limit, in seconds (not milliseconds).
        Assert.InRange(durations.Single(m => Tag(m.Tags, "warden.execution.status") is "timeout").Value, 0.1, 5);
        Assert.Equal(3, Named("warden.execution.cpu_time").Count);
        Assert.All(Named("warden.execution.memory.peak"), m => { Assert.Equal("By", m.Unit); Assert.True(m.Value > 0); });
        Assert.Equal(3, Named("warden.execution.queue.duration").Count);

        // The memory limit killed its worker (a timeout the worker stopped itself does not): a retirement with its
        // reason; the warm-up started at least one.
        Assert.Contains(Named("warden.workers.retired"), m => Tag(m.Tags, "warden.worker.retire_reason") is "limit_or_failure" && m.Value >= 1);
        Assert.Contains(Named("warden.workers.started"), m => m.Value >= 1);
        Assert.Contains(Named("warden.workers.start_failures"), m => m.Value == 0);
        Assert.Contains(Named("warden.workers"), m => Tag(m.Tags, "warden.worker.state") is "busy");
        Assert.Contains(Named("warden.workers"), m => Tag(m.Tags, "warden.worker.state") is "idle");
        Assert.Contains(Named("warden.execution.queued"), m => m.Value == 0);

        // Every attribute value is one of a few fixed words (or a number): nothing of the script or its key.
        foreach (var m in all)
        {
            AssertNothingPrivate(string.Join(",", m.Tags.Select(t => t.Key + "=" + t.Value)));
            Assert.StartsWith("warden.", m.Name);
        }
    }
}
