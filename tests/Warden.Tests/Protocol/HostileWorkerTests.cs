using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Warden.Tests.Protocol;

/// <summary>
/// The host must treat every frame from a worker as attacker-controlled. These fake workers are
/// shell scripts that speak just enough of the protocol to get an execution, then misbehave.
/// Each must end as internal_error, quickly, without harming the host.
/// </summary>
public sealed class HostileWorkerTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("warden-hostile-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static byte[] Frame(string json) => Frame(Encoding.UTF8.GetBytes(json));

    private static byte[] Frame(byte[] payload, uint? declared = null)
    {
        var bytes = new byte[4 + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, declared ?? (uint)payload.Length);
        payload.CopyTo(bytes, 4);
        return bytes;
    }

    private const string Ready = "{\"type\":\"ready\",\"pid\":1,\"engine\":{\"name\":\"v8\",\"version\":\"0\",\"memory\":{\"growthCapPerBudgetMb\":1.25,\"growthCapFixedMb\":64,\"nearBudgetFraction\":0.5,\"nearBudgetCeilingMb\":512},\"outOfMemoryMarkers\":[]},\"lockdown\":{\"seccomp\":false,\"allowedSyscalls\":0,\"rlimitsApplied\":false,\"lockdownMs\":0}}";
    private const string Started = "{\"type\":\"started\",\"id\":\"x1\"}";
    private const string Usage = "\"usage\":{\"wallMs\":1,\"cpuMs\":1,\"memoryBytes\":1}";

    public static TheoryData<string, byte[]> Misbehaviours => new()
    {
        { "huge length", [.. Frame(Ready), .. Frame([], 0x7FFF_FFFF)] },
        { "garbage", [.. Frame(Ready), .. Frame([0xFF, 0x00, 0xC3, 0x28, 0x7B])] },
        { "wrong execution id", [.. Frame(Ready), .. Frame("{\"type\":\"started\",\"id\":\"x999\"}")] },
        { "result before started", [.. Frame(Ready), .. Frame("{\"type\":\"result\",\"id\":\"x1\",\"status\":\"ok\",\"result\":\"1\"," + Usage + "}")] },
        { "unknown member", [.. Frame(Ready), .. Frame("{\"type\":\"started\",\"id\":\"x1\",\"exec\":\"/bin/sh\"}")] },
        { "result that is not one JSON value", [.. Frame(Ready), .. Frame(Started), .. Frame("{\"type\":\"result\",\"id\":\"x1\",\"status\":\"ok\",\"result\":\"1 2\"," + Usage + "}")] },
        { "result that is not JSON", [.. Frame(Ready), .. Frame(Started), .. Frame("{\"type\":\"result\",\"id\":\"x1\",\"status\":\"ok\",\"result\":\"{\\\"a\\\":\"," + Usage + "}")] },
        { "status the worker may not send", [.. Frame(Ready), .. Frame(Started), .. Frame("{\"type\":\"result\",\"id\":\"x1\",\"status\":\"invalid_request\",\"error\":{\"name\":\"a\",\"message\":\"b\",\"stack\":\"\"}," + Usage + "}")] },
        { "unknown limit", [.. Frame(Ready), .. Frame(Started), .. Frame("{\"type\":\"result\",\"id\":\"x1\",\"status\":\"timeout\",\"error\":{\"name\":\"a\",\"message\":\"b\",\"stack\":\"\",\"limit\":\"bogus\"}," + Usage + "}")] },
        { "negative usage", [.. Frame(Ready), .. Frame(Started), .. Frame("{\"type\":\"result\",\"id\":\"x1\",\"status\":\"ok\",\"result\":\"1\",\"usage\":{\"wallMs\":-1,\"cpuMs\":1,\"memoryBytes\":1}}")] },
        { "console level", [.. Frame(Ready), .. Frame(Started), .. Frame("{\"type\":\"console\",\"id\":\"x1\",\"level\":\"evil\",\"text\":\"t\"}")] },
        { "stream ends inside a frame", [.. Frame(Ready), .. Frame(Started), 0x40, 0x00] },
        // Only an engine that counts fuel may speak of it: a v8 worker reporting fuel is not ours.
        { "fuel used from an engine that counts none", [.. Frame(Ready), .. Frame(Started), .. Frame("{\"type\":\"result\",\"id\":\"x1\",\"status\":\"ok\",\"result\":\"1\",\"usage\":{\"wallMs\":1,\"cpuMs\":1,\"memoryBytes\":1,\"fuel\":5}}")] },
        { "the fuel limit from an engine that counts none", [.. Frame(Ready), .. Frame(Started), .. Frame("{\"type\":\"result\",\"id\":\"x1\",\"status\":\"timeout\",\"error\":{\"name\":\"a\",\"message\":\"b\",\"stack\":\"\",\"limit\":\"fuel\"}," + Usage + "}")] },
    };

    private static readonly string QuickJsReady = Ready.Replace("\"name\":\"v8\"", "\"name\":\"quickjs\"");

    [Fact]
    public async Task AQuickJsWorkersFuelLimitAndUsageReachTheOutcome()
    {
        var options = new SandboxOptions();
        // The fake answers only once the host has sent it the budget asked for.
        FakeQuickJsWorker.Configure(options, _directory, "\"fuel\":123456789", FakeQuickJsWorker.FuelExhausted);
        Outcome outcome;
        await using (var sandbox = new Sandbox(options))
        {
            outcome = await sandbox.RunAsync(new Submission { Code = "1", Engine = "quickjs", Limits = new ExecutionLimits(TimeoutMs: 5000, Fuel: 123_456_789) });
        }
        OutcomeAssert.Status(OutcomeStatus.Timeout, outcome);
        Assert.Equal(LimitKind.Fuel, outcome.Error!.Limit);
        Assert.Equal(123_456_789, outcome.Usage.Fuel);
        Assert.Equal("quickjs", outcome.Engine);
        Assert.Contains("\"usage\":{\"wallMs\":1,\"cpuMs\":1,\"memoryBytes\":1,\"fuel\":123456789}", outcome.ToJson());
        Assert.Contains("\"limit\":\"fuel\"", outcome.ToJson());
    }

    [Fact]
    public async Task NegativeFuelFromAQuickJsWorkerIsAProtocolViolation()
    {
        await using var sandbox = new Sandbox(FakeWorker([.. Frame(QuickJsReady), .. Frame(Started), .. Frame(
            "{\"type\":\"result\",\"id\":\"x1\",\"status\":\"ok\",\"result\":\"1\",\"usage\":{\"wallMs\":1,\"cpuMs\":1,\"memoryBytes\":1,\"fuel\":-1}}")]));
        var outcome = await sandbox.RunAsync(new Submission { Code = "1", Engine = "quickjs" });
        OutcomeAssert.Status(OutcomeStatus.InternalError, outcome);
        Assert.Null(outcome.Usage.Fuel);
    }

    [Theory]
    [MemberData(nameof(Misbehaviours))]
    public async Task MisbehavingWorkersAreKilledAndReportedAsInternalErrors(string name, byte[] output)
    {
        await using var sandbox = new Sandbox(FakeWorker(output));
        var clock = Stopwatch.StartNew();
        var outcome = await sandbox.RunAsync(new Submission { Code = "1", Limits = new ExecutionLimits(TimeoutMs: 1000) });
        Assert.True(outcome.Status == OutcomeStatus.InternalError, $"{name}: {outcome.ToJson()}");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"{name}: took {clock.Elapsed}");
        Assert.Null(outcome.ResultJson);
    }

    /// <summary>A worker's self-description sets its cgroup cap and how its death is judged: it is held to bounds.</summary>
    public static TheoryData<string, string> RefusedReadies => new()
    {
        { "another engine than asked for", Ready.Replace("\"name\":\"v8\"", "\"name\":\"quickjs\"") },
        { "a memory rule out of bounds", Ready.Replace("\"growthCapPerBudgetMb\":1.25", "\"growthCapPerBudgetMb\":100") },
        { "an out-of-memory marker too short to mean anything", Ready.Replace("\"outOfMemoryMarkers\":[]", "\"outOfMemoryMarkers\":[\"a\"]") },
        { "no ready first", Started },
    };

    [Theory]
    [MemberData(nameof(RefusedReadies))]
    public async Task AWorkerWhoseReadyBreaksTheContractIsNeverUsed(string name, string firstFrame)
    {
        Assert.NotEqual(Ready, firstFrame);
        await using var sandbox = new Sandbox(FakeWorker(Frame(firstFrame)));
        var outcome = await sandbox.RunAsync(new Submission { Code = "1" });
        Assert.True(outcome.Status == OutcomeStatus.InternalError, $"{name}: {outcome.ToJson()}");
        Assert.Contains("broke the protocol while starting", outcome.Error!.Message);
        Assert.Equal(0, sandbox.Statistics.WorkersStarted);
    }

    [Fact]
    public async Task AWorkerThatNeverReportsReadyIsGivenUpOn()
    {
        var options = FakeWorker([]);
        options.WorkerStartTimeout = TimeSpan.FromSeconds(1);
        await using var sandbox = new Sandbox(options);
        var clock = Stopwatch.StartNew();
        var outcome = await sandbox.RunAsync(new Submission { Code = "1" });
        OutcomeAssert.Status(OutcomeStatus.InternalError, outcome);
        Assert.Contains("did not report ready", outcome.Error!.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task AWorkerThatHangsMidExecutionIsKilledAtTheDeadline()
    {
        await using var sandbox = new Sandbox(FakeWorker([.. Frame(Ready), .. Frame(Started)]));
        var clock = Stopwatch.StartNew();
        var outcome = await sandbox.RunAsync(new Submission { Code = "1", Limits = new ExecutionLimits(TimeoutMs: 300) });
        OutcomeAssert.Status(OutcomeStatus.Timeout, outcome);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(300 + 1000 + 1500));
    }

    [Fact]
    public async Task AFloodOfStderrIsBounded()
    {
        string script = Path.Combine(_directory, "stderr-flood.sh");
        File.WriteAllText(script, "head -c 50000000 /dev/zero >&2; exit 3\n");
        await using var sandbox = new Sandbox(new SandboxOptions { DotnetHostPath = "/bin/sh", WorkerAssemblyPath = script, SpareWorkers = 0, MaxWorkers = 1, OsIsolation = OsIsolationMode.Disabled });
        long before = GC.GetTotalMemory(true);
        var outcome = await sandbox.RunAsync(new Submission { Code = "1" });
        OutcomeAssert.Status(OutcomeStatus.InternalError, outcome);
        Assert.True(GC.GetTotalMemory(true) - before < 16 << 20, "stderr must not be buffered whole");
    }

    private static string HostCall(long callId, string name, string arguments = "[]", string id = "x1") =>
        "{\"type\":\"hostCall\",\"id\":\"" + id + "\",\"callId\":" + callId + ",\"name\":\"" + name + "\",\"arguments\":" + JsonSerializer.Serialize(arguments) + "}";

    /// <summary>Host calls a compromised worker could forge. Each must kill the worker as a protocol breach.</summary>
    public static TheoryData<string, string[], string[]> ForgedHostCalls => new()
    {
        { "a call without any grant", [], [HostCall(1, "slow")] },
        { "a function not granted to this execution", ["slow"], [HostCall(1, "secret")] },
        { "a call for another execution", ["slow"], [HostCall(1, "slow", id: "x999")] },
        { "a call id out of sequence", ["slow"], [HostCall(2, "slow")] },
        { "a call id used twice", ["slow"], [HostCall(1, "slow"), HostCall(1, "slow")] },
        { "arguments that are not an array", ["slow"], [HostCall(1, "slow", "{\"a\":1}")] },
        { "arguments that are not JSON", ["slow"], [HostCall(1, "slow", "[1,")] },
        { "arguments beyond their limit", ["slow"], [HostCall(1, "slow", "[\"" + new string('x', 200) + "\"]")] },
        { "more calls at once than allowed", ["slow"], [HostCall(1, "slow"), HostCall(2, "slow"), HostCall(3, "slow")] },
        { "more calls than allowed", ["fast"], [HostCall(1, "fast"), HostCall(2, "fast"), HostCall(3, "fast"), HostCall(4, "fast")] },
    };

    [Theory]
    [MemberData(nameof(ForgedHostCalls))]
    public async Task ForgedHostCallsKillTheWorkerAsABreach(string name, string[] grant, string[] calls)
    {
        var output = new List<byte>([.. Frame(Ready), .. Frame(Started)]);
        foreach (var call in calls)
        {
            output.AddRange(Frame(call));
        }
        var options = FakeWorker([.. output]);
        options.Limits.MaxHostCalls = 3;
        options.Limits.MaxConcurrentHostCalls = 2;
        options.Limits.MaxHostCallArgumentBytes = 100;
        int ran = 0;
        options.HostFunctions.Add("slow", async (args, call) =>
        {
            Interlocked.Increment(ref ran);
            await Task.Delay(5000, call.CancellationToken);
            return null;
        });
        options.HostFunctions.Add("fast", JsonNode? (args, call) =>
        {
            Interlocked.Increment(ref ran);
            return null;
        });
        options.HostFunctions.Add("secret", (args, call) =>
        {
            Interlocked.Increment(ref ran);
            return System.Text.Json.Nodes.JsonValue.Create("secret");
        });
        var logger = new RecordingLogger<Sandbox>();
        await using var sandbox = new Sandbox(options, logger);
        var clock = Stopwatch.StartNew();
        var outcome = await sandbox.RunAsync(new Submission { Code = "1", HostFunctions = grant, Limits = new ExecutionLimits(TimeoutMs: 2000) });
        Assert.True(outcome.Status == OutcomeStatus.InternalError, $"{name}: {outcome.ToJson()}");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"{name}: took {clock.Elapsed}");
        Assert.Contains(logger.Lines, line => line.Level == Microsoft.Extensions.Logging.LogLevel.Error && line.Message.Contains("SECURITY: worker", StringComparison.Ordinal));
        // The forged call itself never reached a delegate (legitimate calls before it may have).
        Assert.True(ran < calls.Length, $"{name}: {ran} delegates ran for {calls.Length} calls");
        Assert.Empty(sandbox.WorkerPids);
    }

    [Fact]
    public async Task AHostCallAfterTheResultIsABreachOfTheNextExecution()
    {
        string result = "{\"type\":\"result\",\"id\":\"x1\",\"status\":\"ok\",\"result\":\"1\"," + Usage + "}";
        var options = FakeWorker([.. Frame(Ready), .. Frame(Started), .. Frame(result), .. Frame(HostCall(1, "fast"))]);
        int ran = 0;
        options.HostFunctions.Add("fast", JsonNode? (args, call) =>
        {
            Interlocked.Increment(ref ran);
            return null;
        });
        await using var sandbox = new Sandbox(options);
        var first = await sandbox.RunAsync(new Submission { Code = "1", HostFunctions = ["fast"] });
        OutcomeAssert.Ok("1", first);
        Assert.Equal(0, first.Usage.HostCalls);
        var second = await sandbox.RunAsync(new Submission { Code = "1", HostFunctions = ["fast"] });
        OutcomeAssert.Status(OutcomeStatus.InternalError, second);
        Assert.Equal(0, ran);
    }

    private SandboxOptions FakeWorker(byte[] output)
    {
        string data = Path.Combine(_directory, Guid.NewGuid().ToString("n") + ".bin");
        File.WriteAllBytes(data, output);
        string script = Path.Combine(_directory, Guid.NewGuid().ToString("n") + ".sh");
        // Write the canned frames, then keep reading stdin until the host closes it or kills us.
        File.WriteAllText(script, $"cat '{data}'\ncat > /dev/null\n");
        return new SandboxOptions { DotnetHostPath = "/bin/sh", WorkerAssemblyPath = script, SpareWorkers = 0, MaxWorkers = 1, OsIsolation = OsIsolationMode.Disabled };
    }
}
