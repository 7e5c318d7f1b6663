using System.Text.Json;
using Warden.Hosting;

namespace Warden.Tests.Hosting;

/// <summary>
/// What the library refuses before any worker runs, and how it says so: the field at fault (the contract's
/// JSON path) and the message; the engine a submission names or gets by default; the application's ceilings.
/// </summary>
public sealed class SubmissionValidationTests : IAsyncLifetime
{
    // No spare workers: a refused submission never reaches one, so these tests start no process.
    private Sandbox _sandbox = null!;

    public Task InitializeAsync()
    {
        _sandbox = new Sandbox(new SandboxOptions { SpareWorkers = 0 });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _sandbox.DisposeAsync();

    public static TheoryData<Submission, string, string> Refusals => new()
    {
        { new Submission { Code = null! }, "code", "code is required" },
        { new Submission { Code = new string('x', (1 << 20) + 1) }, "code", "code is 1048577 bytes; the limit is 1048576" },
        { new Submission { Code = "1", Modules = new Dictionary<string, string> { ["a.js"] = "1" } }, "modules", "modules needs module mode" },
        { new Submission { Code = "1", IsModule = true, Modules = new Dictionary<string, string> { ["warden:x"] = "1" } }, "modules", "modules: the name 'warden:x' is reserved" },
        { new Submission { Code = "1", InputJson = "{nope" }, "input", "input is not valid JSON: " },
        { new Submission { Code = "1", IsolationKey = "" }, "isolationKey", "isolationKey must be 1 to 256 characters" },
        { new Submission { Code = "1", Limits = new(TimeoutMs: 0) }, "limits.timeoutMs", "limits.timeoutMs must be between 1 and 60000" },
        { new Submission { Code = "1", Limits = new(CpuMs: 60_001) }, "limits.cpuMs", "limits.cpuMs must be between 1 and 60000" },
        { new Submission { Code = "1", Limits = new(MemoryMb: 1) }, "limits.memoryMb", "limits.memoryMb must be between 16 and" },
        { new Submission { Code = "1", Engine = "spidermonkey" }, "engine", "engine 'spidermonkey' is not available; this sandbox offers: v8, quickjs" },
        { new Submission { Code = "1", Limits = new(Fuel: 1000) }, "limits.fuel", "limits.fuel: fuel is counted only by the quickjs engine (this submission runs on v8)" },
        { new Submission { Code = "1", Engine = "quickjs", Limits = new(Fuel: 0) }, "limits.fuel", "limits.fuel must be between 1 and 1000000000000" },
        { new Submission { Code = "1", Engine = "quickjs", IsolationUnit = IsolationUnit.Context }, "isolationUnit",
            "isolationUnit Context is not available on engine quickjs (it runs a fresh VM per execution)" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task ARefusalNamesItsFieldAndSaysWhy(Submission submission, string field, string message)
    {
        var outcome = await _sandbox.RunAsync(submission);
        Assert.Equal(OutcomeStatus.InvalidRequest, outcome.Status);
        Assert.Equal(field, outcome.Error!.Field);
        Assert.StartsWith(message, outcome.Error.Message, StringComparison.Ordinal);
        Assert.Equal(0, outcome.WorkerPid);
    }

    [Fact]
    public async Task TheFieldIsNotPartOfTheOutcomeJson()
    {
        var outcome = await _sandbox.RunAsync(new Submission { Code = "1", Engine = "spidermonkey" });
        var error = JsonDocument.Parse(outcome.ToJson()).RootElement.GetProperty("error");
        Assert.Equal(["name", "message", "stack", "limit"], error.EnumerateObject().Select(p => p.Name));
        Assert.Equal("InvalidRequest", error.GetProperty("name").GetString());
        Assert.Equal("v8", JsonDocument.Parse(outcome.ToJson()).RootElement.GetProperty("engine").GetString());
    }

    [Fact]
    public void ANameThatIsNoEngineIsNotEchoedWhenItIsLongOrUnprintable()
    {
        var options = new SandboxOptions();
        foreach (string name in new[] { new string('q', 65), "v8\u001b[2J", "" })
        {
            var problem = SubmissionValidator.Validate(new Submission { Code = "1", Engine = name }, options, out _, out _);
            Assert.Equal(new SubmissionProblem("engine", "engine is not available; this sandbox offers: v8, quickjs"), problem);
        }
    }

    [Fact]
    public void TheEngineIsTheSubmissionsOrTheSandboxsDefaultSpeltExactly()
    {
        var options = new SandboxOptions();
        Assert.Null(SubmissionValidator.Validate(new Submission { Code = "1" }, options, out _, out string byDefault));
        Assert.Equal("v8", byDefault);
        Assert.Null(SubmissionValidator.Validate(new Submission { Code = "1", Engine = "v8" }, options, out _, out string named));
        Assert.Equal("v8", named);
        Assert.Equal("engine", SubmissionValidator.Validate(new Submission { Code = "1", Engine = "V8" }, options, out _, out _)?.Field);
        Assert.Equal("engine 'test' is not available; this sandbox offers: v8, quickjs",
            SubmissionValidator.Validate(new Submission { Code = "1", Engine = "test" }, options, out _, out _)?.Message);
        Assert.Null(SubmissionValidator.Validate(new Submission { Code = "1", Engine = "quickjs" }, options, out var quickJsLimits, out string quickJs));
        Assert.Equal("quickjs", quickJs);
        Assert.Equal(0, quickJsLimits.Fuel);
    }

    [Fact]
    public void TheTestEngineIsOfferedOnlyWhenEnabled()
    {
        var options = new SandboxOptions { EnableTestEngine = true };
        Assert.Equal(["v8", "quickjs", "test"], EngineCatalog.Offered(options));
        Assert.Null(SubmissionValidator.Validate(new Submission { Code = "1", Engine = "test" }, options, out _, out string engine));
        Assert.Equal("test", engine);
        Assert.Equal("engine 'spidermonkey' is not available; this sandbox offers: v8, quickjs, test",
            SubmissionValidator.Validate(new Submission { Code = "1", Engine = "spidermonkey" }, options, out _, out _)?.Message);
        options.DefaultEngine = "test";
        Assert.Empty(options.Validate());
        Assert.Null(SubmissionValidator.Validate(new Submission { Code = "1" }, options, out _, out string byDefault));
        Assert.Equal("test", byDefault);
    }

    private static readonly ExecutionCeilings KeyCeilings = new() { MaxTimeoutMs = 2000, MaxMemoryMb = 64, Owner = "this API key" };

    [Theory]
    [InlineData(3000, null, null, "limits.timeoutMs", "limits.timeoutMs is above this API key's ceiling (2000).")]
    [InlineData(null, 2001, null, "limits.cpuMs", "limits.cpuMs is above this API key's ceiling (2000).")]
    [InlineData(1000, 1000, 65, "limits.memoryMb", "limits.memoryMb is above this API key's ceiling (64).")]
    public async Task LimitsAboveTheCeilingsAreRefused(int? timeoutMs, int? cpuMs, int? memoryMb, string field, string message)
    {
        var outcome = await _sandbox.RunAsync(new Submission { Code = "1", Limits = new(timeoutMs, cpuMs, memoryMb), Ceilings = KeyCeilings });
        Assert.Equal(OutcomeStatus.InvalidRequest, outcome.Status);
        Assert.Equal(field, outcome.Error!.Field);
        Assert.Equal(message, outcome.Error.Message);
    }

    [Fact]
    public void LimitsLeftOutTakeTheDefaultsLoweredToTheCeilings()
    {
        var options = new SandboxOptions();
        Assert.Null(SubmissionValidator.Validate(new Submission { Code = "1", Ceilings = KeyCeilings }, options, out var lowered, out _));
        Assert.Equal((2000, 2000, 64), (lowered.TimeoutMs, lowered.CpuMs, lowered.MemoryMb));
        // Ceilings above the defaults leave them; limits asked for within the ceilings are kept.
        var high = new ExecutionCeilings { MaxTimeoutMs = 50_000, MaxMemoryMb = 512 };
        Assert.Null(SubmissionValidator.Validate(new Submission { Code = "1", Ceilings = high }, options, out var defaults, out _));
        Assert.Equal((5000, 5000, 128), (defaults.TimeoutMs, defaults.CpuMs, defaults.MemoryMb));
        Assert.Null(SubmissionValidator.Validate(new Submission { Code = "1", Limits = new(1500, 700, 32), Ceilings = KeyCeilings }, options, out var asked, out _));
        Assert.Equal((1500, 700, 32), (asked.TimeoutMs, asked.CpuMs, asked.MemoryMb));
    }

    [Fact]
    public void ACeilingAboveTheSandboxsMaximumRaisesNothing()
    {
        var options = new SandboxOptions();
        var problem = SubmissionValidator.Validate(new Submission { Code = "1", Limits = new(TimeoutMs: 70_000), Ceilings = new() { MaxTimeoutMs = 100_000 } },
            options, out _, out _);
        Assert.Equal(new SubmissionProblem("limits.timeoutMs", "limits.timeoutMs must be between 1 and 60000"), problem);
    }

    [Fact]
    public void CeilingsRejectNonsense()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ExecutionCeilings { MaxTimeoutMs = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new ExecutionCeilings { MaxMemoryMb = SandboxLimits.MinMemoryMb - 1 });
        Assert.Throws<ArgumentException>(() => new ExecutionCeilings { Owner = " " });
        Assert.Equal("the caller", new ExecutionCeilings().Owner);
    }

    [Theory]
    [InlineData(1L)]
    [InlineData(2_799_000_627L)]
    [InlineData(SandboxLimits.AbsoluteMaxFuel)]
    public void FuelOnQuickJsResolvesIntoTheWireLimits(long fuel)
    {
        var problem = SubmissionValidator.Validate(new Submission { Code = "1", Engine = "quickjs", Limits = new(Fuel: fuel) },
            new SandboxOptions(), out var resolved, out _);
        Assert.Null(problem);
        Assert.Equal(fuel, resolved.Fuel);
    }

    [Fact]
    public void FuelLeftOutIsUnlimitedOrTheOperatorsDefaultOnQuickJsOnly()
    {
        var options = new SandboxOptions();
        Assert.Null(SubmissionValidator.Validate(new Submission { Code = "1", Engine = "quickjs" }, options, out var unlimited, out _));
        Assert.Equal(0, unlimited.Fuel);
        options.Limits.DefaultFuel = 5_000_000;
        Assert.Null(SubmissionValidator.Validate(new Submission { Code = "1", Engine = "quickjs" }, options, out var byDefault, out _));
        Assert.Equal(5_000_000, byDefault.Fuel);
        // An engine that counts no fuel is never sent a budget, whatever the operator's default.
        Assert.Null(SubmissionValidator.Validate(new Submission { Code = "1" }, options, out var onV8, out _));
        Assert.Equal(0, onV8.Fuel);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(-1L)]
    [InlineData(SandboxLimits.AbsoluteMaxFuel + 1)]
    [InlineData(long.MaxValue)]
    [InlineData(long.MinValue)]
    public void FuelOutOfRangeNamesTheFieldAndTheRange(long fuel)
    {
        var problem = SubmissionValidator.Validate(new Submission { Code = "1", Engine = "quickjs", Limits = new(Fuel: fuel) },
            new SandboxOptions(), out _, out _);
        Assert.Equal(new SubmissionProblem("limits.fuel", "limits.fuel must be between 1 and 1000000000000"), problem);
        var lowered = new SandboxOptions { Limits = new SandboxLimits { MaxFuel = 1_000_000 } };
        Assert.Equal(new SubmissionProblem("limits.fuel", "limits.fuel must be between 1 and 1000000"),
            SubmissionValidator.Validate(new Submission { Code = "1", Engine = "quickjs", Limits = new(Fuel: 1_000_001) }, lowered, out _, out _));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("v8")]
    [InlineData("test")]
    public void FuelOnAnEngineThatCountsNoneIsRefusedWhateverItsValue(string? engine)
    {
        var options = new SandboxOptions { EnableTestEngine = true };
        foreach (long fuel in new[] { 1L, 0L, -5L, SandboxLimits.AbsoluteMaxFuel * 2 })
        {
            // Before the ceilings too: on this engine the field means nothing.
            var problem = SubmissionValidator.Validate(
                new Submission { Code = "1", Engine = engine, Limits = new(Fuel: fuel), Ceilings = new ExecutionCeilings { MaxFuel = 10 } },
                options, out _, out _);
            Assert.Equal(new SubmissionProblem("limits.fuel", $"limits.fuel: fuel is counted only by the quickjs engine (this submission runs on {engine ?? "v8"})"), problem);
        }
    }

    [Fact]
    public void AFuelCeilingRefusesMoreAndBoundsWhatIsLeftOut()
    {
        var options = new SandboxOptions();
        var ceilings = new ExecutionCeilings { MaxFuel = 1_000_000, Owner = "this API key" };
        Assert.Equal(new SubmissionProblem("limits.fuel", "limits.fuel is above this API key's ceiling (1000000)."),
            SubmissionValidator.Validate(new Submission { Code = "1", Engine = "quickjs", Limits = new(Fuel: 1_000_001), Ceilings = ceilings }, options, out _, out _));
        Assert.Null(SubmissionValidator.Validate(new Submission { Code = "1", Engine = "quickjs", Limits = new(Fuel: 999), Ceilings = ceilings }, options, out var asked, out _));
        Assert.Equal(999, asked.Fuel);
        // Left out: an unlimited default is lowered to the ceiling; a lower default stays.
        Assert.Null(SubmissionValidator.Validate(new Submission { Code = "1", Engine = "quickjs", Ceilings = ceilings }, options, out var lowered, out _));
        Assert.Equal(1_000_000, lowered.Fuel);
        options.Limits.DefaultFuel = 5_000;
        Assert.Null(SubmissionValidator.Validate(new Submission { Code = "1", Engine = "quickjs", Ceilings = ceilings }, options, out var kept, out _));
        Assert.Equal(5_000, kept.Fuel);
        // A ceiling above the sandbox's maximum raises nothing.
        var small = new SandboxOptions { Limits = new SandboxLimits { MaxFuel = 100 } };
        Assert.Null(SubmissionValidator.Validate(new Submission { Code = "1", Engine = "quickjs", Ceilings = ceilings }, small, out var capped, out _));
        Assert.Equal(100, capped.Fuel);
        // On v8 a fuel ceiling changes nothing.
        Assert.Null(SubmissionValidator.Validate(new Submission { Code = "1", Ceilings = ceilings }, options, out var onV8, out _));
        Assert.Equal(0, onV8.Fuel);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ExecutionCeilings { MaxFuel = 0 });
    }

    [Fact]
    public void QuickJsIsRefusedInAWarmContextWhereverTheUnitComesFrom()
    {
        const string Refusal = "isolationUnit Context is not available on engine quickjs (it runs a fresh VM per execution)";
        var isolates = new SandboxOptions();
        Assert.Equal(new SubmissionProblem("isolationUnit", Refusal),
            SubmissionValidator.Validate(new Submission { Code = "1", Engine = "quickjs", IsolationUnit = IsolationUnit.Context }, isolates, out _, out string engine));
        Assert.Equal("quickjs", engine);
        // The sandbox's own unit: refused, never quietly run in a fresh VM.
        var warm = new SandboxOptions { IsolationUnit = IsolationUnit.Context };
        Assert.Equal(new SubmissionProblem("isolationUnit", Refusal),
            SubmissionValidator.Validate(new Submission { Code = "1", Engine = "quickjs" }, warm, out _, out _));
        // A fresh isolate asked for in that sandbox is fine; so is v8 in a warm context.
        Assert.Null(SubmissionValidator.Validate(new Submission { Code = "1", Engine = "quickjs", IsolationUnit = IsolationUnit.Isolate }, warm, out _, out _));
        Assert.Null(SubmissionValidator.Validate(new Submission { Code = "1" }, warm, out _, out _));
    }

    [Fact]
    public void TheOutcomeFactoriesOfThePublicApi()
    {
        var invalid = Outcome.InvalidRequest("limits.timeoutMs", "limits.timeoutMs is too long");
        Assert.Equal((OutcomeStatus.InvalidRequest, "InvalidRequest", "limits.timeoutMs"), (invalid.Status, invalid.Error!.Name, invalid.Error.Field));
        Assert.Null(Outcome.InvalidRequest("bad command line").Error!.Field);
        var failed = Outcome.InternalError("Cancelled", "cancelled");
        Assert.Equal((OutcomeStatus.InternalError, "Cancelled", "cancelled", (string?)null), (failed.Status, failed.Error!.Name, failed.Error.Message, failed.Error.Field));
    }
}
