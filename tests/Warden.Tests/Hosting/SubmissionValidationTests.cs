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
        { new Submission { Code = "1", Engine = "spidermonkey" }, "engine", "engine 'spidermonkey' is not available; this sandbox offers: v8" },
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
        var outcome = await _sandbox.RunAsync(new Submission { Code = "1", Engine = "quickjs" });
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
            Assert.Equal(new SubmissionProblem("engine", "engine is not available; this sandbox offers: v8"), problem);
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
        Assert.Equal("engine 'test' is not available; this sandbox offers: v8",
            SubmissionValidator.Validate(new Submission { Code = "1", Engine = "test" }, options, out _, out _)?.Message);
    }

    [Fact]
    public void TheTestEngineIsOfferedOnlyWhenEnabled()
    {
        var options = new SandboxOptions { EnableTestEngine = true };
        Assert.Equal(["v8", "test"], EngineCatalog.Offered(options));
        Assert.Null(SubmissionValidator.Validate(new Submission { Code = "1", Engine = "test" }, options, out _, out string engine));
        Assert.Equal("test", engine);
        Assert.Equal("engine 'quickjs' is not available; this sandbox offers: v8, test",
            SubmissionValidator.Validate(new Submission { Code = "1", Engine = "quickjs" }, options, out _, out _)?.Message);
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
