using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;

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
