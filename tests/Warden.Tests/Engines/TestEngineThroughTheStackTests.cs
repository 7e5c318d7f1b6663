using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Warden.Cli;
using Warden.Tests.Server;

namespace Warden.Tests.Engines;

/// <summary>
/// The engine seam, end to end: the fake <c>test</c> engine (line commands instead of JavaScript,
/// behind the worker's engine interface, inside a real locked-down worker) through the library, the
/// CLI and the HTTP service. Each outcome must name the engine that produced it, the limits must
/// reach an engine that is not V8 (the watchdog's interrupt, the resident-memory trip), and V8 must
/// keep working beside it in the same sandbox.
/// </summary>
[Collection("sandbox")]
public sealed class TestEngineThroughTheStackTests : IAsyncLifetime
{
    private Sandbox _sandbox = null!;

    public async Task InitializeAsync()
    {
        _sandbox = new Sandbox(new SandboxOptions { MaxWorkers = 2, SpareWorkers = 1, EnableTestEngine = true });
        await _sandbox.WarmUpAsync();
    }

    public async Task DisposeAsync() => await _sandbox.DisposeAsync();

    private Task<Outcome> RunTestEngineAsync(string code, string? input = null, int? timeoutMs = null, int? memoryMb = null, string? key = null) =>
        _sandbox.RunAsync(new Submission
        {
            Code = code,
            InputJson = input,
            Engine = "test",
            IsolationKey = key,
            Limits = new ExecutionLimits(TimeoutMs: timeoutMs, MemoryMb: memoryMb),
        });

    [Fact]
    public async Task TheLibraryRunsTheTestEngineAndTheOutcomeNamesIt()
    {
        var outcome = await RunTestEngineAsync("log hello from the test engine\nresult {\"a\":[1,2]}");
        OutcomeAssert.Ok("{\"a\":[1,2]}", outcome);
        Assert.Equal("test", outcome.Engine);
        Assert.Equal([new ConsoleEntry("log", "hello from the test engine")], outcome.Console);

        OutcomeAssert.Ok("{\"n\":5}", await RunTestEngineAsync("input", input: "{\"n\":5}"));
        var thrown = OutcomeAssert.Failed(OutcomeStatus.ScriptError, "Error", await RunTestEngineAsync("throw it broke"));
        Assert.Equal("it broke", thrown.Message);
        OutcomeAssert.Failed(OutcomeStatus.ScriptError, "SyntaxError", await RunTestEngineAsync("launch missiles"));
    }

    [Fact]
    public async Task EachEngineGetsItsOwnWorkersEvenForTheSameIsolationKey()
    {
        var test = await RunTestEngineAsync("result 1", key: "tenant");
        var v8 = await _sandbox.RunAsync(new Submission { Code = "[typeof input, 2]", IsolationKey = "tenant" });
        OutcomeAssert.Ok("1", test);
        OutcomeAssert.Ok("[\"object\",2]", v8);
        Assert.Equal("test", test.Engine);
        Assert.Equal("v8", v8.Engine);
        Assert.NotEqual(test.WorkerPid, v8.WorkerPid);
    }

    [Fact]
    public async Task AnInterruptReachesTheTestEngine()
    {
        var started = _sandbox.Statistics;
        var clock = Stopwatch.StartNew();
        var outcome = await RunTestEngineAsync("spin", timeoutMs: 300);
        var elapsed = clock.Elapsed;
        OutcomeAssert.Failed(OutcomeStatus.Timeout, "TimeoutError", outcome);
        Assert.Equal("test", outcome.Engine);
        Assert.True(elapsed < TimeSpan.FromMilliseconds(300 + 1500), $"took {elapsed}");
        // The interrupt was honoured: the worker is kept, as for V8.
        var next = await RunTestEngineAsync("result 2");
        OutcomeAssert.Ok("2", next);
        Assert.Equal(outcome.WorkerPid, next.WorkerPid);
        Assert.Equal(started.WorkersRetired.Values.Sum(), _sandbox.Statistics.WorkersRetired.Values.Sum());
    }

    [Fact]
    public async Task TheMemoryBudgetReachesTheTestEngine()
    {
        var clock = Stopwatch.StartNew();
        var outcome = await RunTestEngineAsync("allocate 2048", timeoutMs: 20_000, memoryMb: 64);
        var elapsed = clock.Elapsed;
        OutcomeAssert.Failed(OutcomeStatus.MemoryLimit, "MemoryLimitError", outcome);
        Assert.Equal("test", outcome.Engine);
        Assert.True(elapsed < TimeSpan.FromSeconds(10), $"took {elapsed}");
        OutcomeAssert.Ok("3", await RunTestEngineAsync("result 3"));
    }

    [Fact]
    public async Task AnEngineTheSandboxDoesNotOfferIsAnInvalidRequestNamingTheOffered()
    {
        await using var plain = new Sandbox(new SandboxOptions { MaxWorkers = 1, SpareWorkers = 0 });
        var outcome = await plain.RunAsync(new Submission { Code = "result 1", Engine = "test" });
        var error = OutcomeAssert.Failed(OutcomeStatus.InvalidRequest, "InvalidRequest", outcome);
        Assert.Contains("'test'", error.Message);
        Assert.Contains("v8", error.Message);
        Assert.DoesNotContain("test,", error.Message);
        Assert.Equal("v8", outcome.Engine);
        // A refusal on the test engine (nothing ran) still names the engine it was meant for.
        var refused = await RunTestEngineAsync("result 1", timeoutMs: 0);
        OutcomeAssert.Status(OutcomeStatus.InvalidRequest, refused);
        Assert.Equal("test", refused.Engine);
    }

    [Fact]
    public async Task TheHttpServiceRunsTheTestEngine()
    {
        var (app, client) = await ServerFixture.StartAsync(o => { o.MaxWorkers = 1; o.EnableTestEngine = true; });
        try
        {
            var response = await client.PostAsync("/v1/run", ServerFixture.Json("""{ "code": "log over http\nresult [7]", "engine": "test" }"""));
            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(200, (int)response.StatusCode);
            Assert.Equal("ok", body.GetProperty("status").GetString());
            Assert.Equal("test", body.GetProperty("engine").GetString());
            Assert.Equal(7, body.GetProperty("result")[0].GetInt32());
            Assert.Equal("over http", body.GetProperty("console")[0].GetProperty("text").GetString());

            var refused = await client.PostAsync("/v1/run", ServerFixture.Json("""{ "code": "1", "engine": "spidermonkey" }"""));
            var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(400, (int)refused.StatusCode);
            Assert.Equal("engine", problem.GetProperty("field").GetString());
            Assert.Contains("spidermonkey", problem.GetProperty("detail").GetString());
        }
        finally
        {
            client.Dispose();
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task TheCliRunsTheTestEngine()
    {
        string file = Path.Combine(Directory.CreateTempSubdirectory("warden-engine-").FullName, "commands.txt");
        await File.WriteAllTextAsync(file, "log from the cli\ninput\n");
        try
        {
            using var stdout = new MemoryStream();
            using var stderr = new StringWriter();
            int exit = await WardenCommandLine.InvokeAsync(["run", file, "--engine", "test", "--input", "{\"k\":1}"], stdout, stderr,
                new MemoryStream(), o => o.EnableTestEngine = true);
            var root = JsonDocument.Parse(Encoding.UTF8.GetString(stdout.ToArray())).RootElement;
            Assert.Equal(0, exit);
            Assert.Equal("ok", root.GetProperty("status").GetString());
            Assert.Equal("test", root.GetProperty("engine").GetString());
            Assert.Equal(1, root.GetProperty("result").GetProperty("k").GetInt32());
            Assert.Equal("from the cli", root.GetProperty("console")[0].GetProperty("text").GetString());
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(file)!, recursive: true);
        }
    }
}
