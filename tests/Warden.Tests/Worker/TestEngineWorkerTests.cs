using System.Diagnostics;
using Warden.Protocol;

namespace Warden.Tests.Worker;

/// <summary>
/// The worker side of the engine seam, through a real worker process speaking the real protocol: the
/// test engine is picked by <c>configure</c>, describes itself in <c>ready</c>, and its executions go
/// through the same runner, recorder and watchdog as V8's (console limits, time limits, the
/// resident-memory trip). No host in between, no OS sandbox: only the worker is under test here.
/// </summary>
public sealed class TestEngineWorkerTests
{
    private static readonly WireLimits Limits = new(TimeoutMs: 2000, CpuMs: 2000, MemoryMb: 64, MaxConsoleBytes: 1000,
        MaxConsoleEntries: 5, MaxResultBytes: 1000, MaxErrorTextBytes: 500);

    [Fact]
    public async Task ReadyDescribesTheTestEngineWithARuleTheHostAccepts()
    {
        await using var worker = await TestWorker.StartAsync(EngineNames.Test);
        var engine = worker.Ready.Engine;
        Assert.Equal(EngineNames.Test, engine.Name);
        Assert.False(string.IsNullOrEmpty(engine.Version));
        Assert.Null(engine.Memory.Validate());
        Assert.Equal(["test engine out of memory"], engine.OutOfMemoryMarkers);
        Assert.All(engine.OutOfMemoryMarkers, m => Assert.InRange(m.Length, 8, 200));
    }

    [Fact]
    public async Task CommandsLogAndTheLastResultWins()
    {
        await using var worker = await TestWorker.StartAsync(EngineNames.Test);
        var run = await worker.RunAsync("  log hello  world \n\n result {\"a\": [1, 2]}\ninput\n", input: "{\"x\":1}");
        Assert.Equal(WireStatus.Ok, run.Result.Status);
        Assert.Equal("{\"x\":1}", run.Result.Result);
        Assert.Equal([("log", "hello  world")], run.Console);

        run = await worker.RunAsync("input\nresult [true, null]");
        Assert.Equal("[true, null]", run.Result.Result);
        Assert.Equal("null", (await worker.RunAsync("input")).Result.Result);
        Assert.Equal("null", (await worker.RunAsync("log only")).Result.Result);
    }

    [Fact]
    public async Task ThrowIsAScriptErrorAndStopsTheScript()
    {
        await using var worker = await TestWorker.StartAsync(EngineNames.Test);
        var run = await worker.RunAsync("log before\nthrow it broke\nlog after\nresult 1");
        Assert.Equal(WireStatus.ScriptError, run.Result.Status);
        Assert.Equal(("Error", "it broke"), (run.Result.Error!.Name, run.Result.Error.Message));
        Assert.Equal([("log", "before")], run.Console);
    }

    [Theory]
    [InlineData("log a\nfrobnicate now", "unknown command 'frobnicate'")]
    [InlineData("result {\"a\":", "result needs exactly one JSON value")]
    [InlineData("result 1 2", "result needs exactly one JSON value")]
    [InlineData("allocate lots", "allocate needs a whole number of MB from 0 to 1048576")]
    public async Task ABadLineIsASyntaxErrorBeforeAnythingRuns(string code, string message)
    {
        await using var worker = await TestWorker.StartAsync(EngineNames.Test);
        var run = await worker.RunAsync(code);
        Assert.Equal(WireStatus.ScriptError, run.Result.Status);
        Assert.Equal(("SyntaxError", message), (run.Result.Error!.Name, run.Result.Error.Message));
        Assert.Empty(run.Console);
    }

    [Fact]
    public async Task ModulesAreRefused()
    {
        await using var worker = await TestWorker.StartAsync(EngineNames.Test);
        var run = await worker.RunAsync("result 1", module: true);
        Assert.Equal(WireStatus.ScriptError, run.Result.Status);
        Assert.Equal(("SyntaxError", "the test engine runs no modules"), (run.Result.Error!.Name, run.Result.Error.Message));
    }

    [Fact]
    public async Task SpinEndsAtTheTimeLimitsThroughTheWatchdog()
    {
        await using var worker = await TestWorker.StartAsync(EngineNames.Test);
        var wall = await worker.RunAsync("spin\nresult 1", limits: Limits with { TimeoutMs = 300, CpuMs = 5000 });
        Assert.Equal((WireStatus.Timeout, WireStatus.LimitWall), (wall.Result.Status, wall.Result.Error!.Limit));
        var cpu = await worker.RunAsync("spin", limits: Limits with { TimeoutMs = 5000, CpuMs = 300 });
        Assert.Equal((WireStatus.Timeout, WireStatus.LimitCpu), (cpu.Result.Status, cpu.Result.Error!.Limit));
        Assert.InRange(cpu.Result.Usage.CpuMs, 250, 2000);
        // The worker survived both and runs the next execution.
        Assert.Equal("2", (await worker.RunAsync("result 2")).Result.Result);
    }

    [Fact]
    public async Task AllocatingPastTheBudgetTripsTheResidentMemoryCheck()
    {
        await using var worker = await TestWorker.StartAsync(EngineNames.Test);
        var small = await worker.RunAsync("allocate 8\nresult 1", limits: Limits with { MemoryMb = 32 });
        Assert.Equal(WireStatus.Ok, small.Result.Status);
        Assert.Equal(8L << 20, small.Result.Usage.MemoryBytes);

        var bomb = await worker.RunAsync("allocate 4000\nresult 1", limits: Limits with { MemoryMb = 32 });
        Assert.Equal((WireStatus.MemoryLimit, WireStatus.LimitProcess), (bomb.Result.Status, bomb.Result.Error!.Limit));
        Assert.InRange(bomb.Result.Usage.MemoryBytes, 32L << 20, 100L << 20);
        Assert.Equal("3", (await worker.RunAsync("result 3")).Result.Result);
    }

    [Fact]
    public async Task ConsoleLimitsApplyToTheTestEngine()
    {
        await using var worker = await TestWorker.StartAsync(EngineNames.Test);
        var run = await worker.RunAsync(string.Join('\n', Enumerable.Repeat("log x", 6)) + "\nresult 1");
        Assert.Equal((WireStatus.OutputLimit, WireStatus.LimitConsole), (run.Result.Status, run.Result.Error!.Limit));
        Assert.Equal(5, run.Console.Count);
    }

    [Fact]
    public async Task AResultPastItsLimitIsAnOutputLimit()
    {
        await using var worker = await TestWorker.StartAsync(EngineNames.Test);
        var run = await worker.RunAsync("result \"" + new string('a', 2000) + "\"");
        Assert.Equal((WireStatus.OutputLimit, WireStatus.LimitResult), (run.Result.Status, run.Result.Error!.Limit));
    }

    [Fact]
    public async Task EveryCommandRunsUnderTheSeccompFilter()
    {
        // The warm-up must have run every path the engine takes: after it, the filter kills the
        // worker for any system call it did not allow.
        await using var worker = await TestWorker.StartAsync(EngineNames.Test, TestWorker.NoLockdown with { Seccomp = true });
        Assert.True(worker.Ready.Lockdown.Seccomp, worker.Ready.Lockdown.Error);
        var run = await worker.RunAsync("log a\nallocate 4\ninput\nresult {\"b\": 2}", input: "1");
        Assert.Equal((WireStatus.Ok, "{\"b\": 2}"), (run.Result.Status, run.Result.Result));
        var spin = await worker.RunAsync("spin", limits: Limits with { TimeoutMs = 200 });
        Assert.Equal((WireStatus.Timeout, WireStatus.LimitWall), (spin.Result.Status, spin.Result.Error!.Limit));
        var bomb = await worker.RunAsync("allocate 4000", limits: Limits with { MemoryMb = 32 });
        Assert.Equal((WireStatus.MemoryLimit, WireStatus.LimitProcess), (bomb.Result.Status, bomb.Result.Error!.Limit));
        Assert.Equal(WireStatus.ScriptError, (await worker.RunAsync("throw x")).Result.Status);
        Assert.Equal("SyntaxError", (await worker.RunAsync("nonsense")).Result.Error!.Name);
        Assert.False(worker.Process.HasExited);
    }

    [Fact]
    public async Task AnUnknownEngineEndsTheWorkerWithExitCode2()
    {
        var worker = TestWorker.Launch();
        await worker.SendAsync(new ConfigureMessage("no-such-engine", Limits, new WireFeatures(false, false), TestWorker.NoLockdown));
        string stderr = await worker.Process.StandardError.ReadToEndAsync();
        await worker.Process.WaitForExitAsync();
        Assert.Equal(2, worker.Process.ExitCode);
        Assert.Contains("this worker has no engine named 'no-such-engine'", stderr);
    }

    /// <summary>A worker process started directly (no bubblewrap, no seccomp), spoken to over its pipes.</summary>
    private sealed class TestWorker : IAsyncDisposable
    {
        public static readonly WireLockdown NoLockdown = new(Seccomp: false, SeccompDefault: "kill", SeccompOmit: null,
            ResidentMemoryBackstop: true, SelfTest: null);

        private int _executions;

        private TestWorker(Process process) => Process = process;

        public Process Process { get; }
        public ReadyMessage Ready { get; private set; } = null!;

        public static TestWorker Launch()
        {
            string dotnet = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(typeof(object).Assembly.Location)!, "..", "..", "..", "dotnet"));
            var start = new ProcessStartInfo(File.Exists(dotnet) ? dotnet : "dotnet", Path.Combine(AppContext.BaseDirectory, "Warden.Worker.dll"))
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            return new TestWorker(Process.Start(start)!);
        }

        public static async Task<TestWorker> StartAsync(string engine, WireLockdown? lockdown = null)
        {
            var worker = Launch();
            await worker.SendAsync(new ConfigureMessage(engine, Limits, new WireFeatures(false, false), lockdown ?? NoLockdown));
            worker.Ready = Assert.IsType<ReadyMessage>(await worker.ReceiveAsync());
            return worker;
        }

        public async Task SendAsync(HostMessage message)
        {
            await Process.StandardInput.BaseStream.WriteAsync(FrameCodec.Encode(message));
            await Process.StandardInput.BaseStream.FlushAsync();
        }

        public async Task<WorkerMessage> ReceiveAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var payload = await FrameCodec.ReadFrameAsync(Process.StandardOutput.BaseStream, 1 << 24, timeout.Token);
            Assert.NotNull(payload);
            return FrameCodec.DecodeWorkerMessage(payload);
        }

        public async Task<(ResultMessage Result, List<(string Level, string Text)> Console)> RunAsync(string code,
            string? input = null, bool module = false, WireLimits? limits = null)
        {
            string id = "x" + ++_executions;
            await SendAsync(new ExecuteMessage(id, EngineNames.Test, code, input, module, limits ?? Limits));
            Assert.Equal(new StartedMessage(id), await ReceiveAsync());
            var console = new List<(string, string)>();
            while (true)
            {
                switch (await ReceiveAsync())
                {
                    case ConsoleMessage entry when entry.Id == id:
                        console.Add((entry.Level, entry.Text));
                        break;
                    case ResultMessage result when result.Id == id:
                        return (result, console);
                    case var other:
                        Assert.Fail("unexpected frame: " + other);
                        break;
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!Process.HasExited)
            {
                Process.Kill();
                await Process.WaitForExitAsync();
            }
            Process.Dispose();
        }
    }
}
