namespace Warden.Tests.Hosting;

public sealed class OptionsValidationTests
{
    [Theory]
    [InlineData(nameof(SandboxLimits.DefaultTimeoutMs), 0)]
    [InlineData(nameof(SandboxLimits.MaxMemoryMb), 5000)]
    [InlineData(nameof(SandboxLimits.MaxMemoryMb), 8)]
    [InlineData(nameof(SandboxLimits.KillGraceMs), 2000)]
    [InlineData(nameof(SandboxLimits.MaxResultBytes), -1)]
    public void LimitSettersRejectNonsense(string property, int value)
    {
        var limits = new SandboxLimits();
        var setter = typeof(SandboxLimits).GetProperty(property)!;
        var e = Assert.Throws<System.Reflection.TargetInvocationException>(() => setter.SetValue(limits, value));
        Assert.IsType<ArgumentOutOfRangeException>(e.InnerException);
    }

    [Fact]
    public void EveryProblemIsListedAtOnce()
    {
        var options = new SandboxOptions
        {
            Limits = new SandboxLimits { MaxTimeoutMs = 100, DefaultTimeoutMs = 500, MaxMemoryMb = 64, DefaultMemoryMb = 128 },
            MaxWorkers = 0,
            SpareWorkers = -1,
        };
        var e = Assert.Throws<SandboxOptionsException>(() => new Sandbox(options));
        Assert.Equal(4, e.Errors.Count);
        Assert.Contains(e.Errors, m => m.Contains("DefaultTimeoutMs"));
        Assert.Contains(e.Errors, m => m.Contains("DefaultMemoryMb"));
        Assert.Contains(e.Errors, m => m.Contains("MaxWorkers"));
        Assert.Contains(e.Errors, m => m.Contains("SpareWorkers"));
    }

    [Fact]
    public void DefaultsAreValidAndDocumentedValues()
    {
        var limits = new SandboxLimits();
        Assert.Empty(new SandboxOptions().Validate());
        Assert.Equal(5000, limits.DefaultTimeoutMs);
        Assert.Equal(128, limits.DefaultMemoryMb);
        Assert.True(limits.KillGraceMs <= 1000);
    }

    [Theory]
    [InlineData("spidermonkey", false, "DefaultEngine ('spidermonkey') must be an engine this sandbox offers: v8, quickjs.")]
    [InlineData("test", false, "DefaultEngine ('test') must be an engine this sandbox offers: v8, quickjs.")]
    [InlineData("V8", true, "DefaultEngine ('V8') must be an engine this sandbox offers: v8, quickjs, test.")]
    [InlineData(null, false, "DefaultEngine ('') must be an engine this sandbox offers: v8, quickjs.")]
    public void TheDefaultEngineMustBeOneTheSandboxOffers(string? engine, bool testEngine, string error)
    {
        var options = new SandboxOptions { DefaultEngine = engine!, EnableTestEngine = testEngine };
        var e = Assert.Throws<SandboxOptionsException>(() => new Sandbox(options));
        Assert.Equal([error], e.Errors);
    }

    [Fact]
    public void QuickJsIsAValidDefaultEngineButNotWithWarmContexts()
    {
        Assert.Empty(new SandboxOptions { DefaultEngine = "quickjs" }.Validate());
        Assert.Equal(["IsolationUnit Context is not available on engine quickjs (it runs a fresh VM per execution), the DefaultEngine."],
            new SandboxOptions { DefaultEngine = "quickjs", IsolationUnit = IsolationUnit.Context }.Validate());
        Assert.Empty(new SandboxOptions { IsolationUnit = IsolationUnit.Context }.Validate());
    }

    [Fact]
    public void FuelLimitsAreDocumentedAndChecked()
    {
        var limits = new SandboxLimits();
        Assert.Equal(1_000_000_000_000, SandboxLimits.AbsoluteMaxFuel);
        Assert.Equal(SandboxLimits.AbsoluteMaxFuel, limits.MaxFuel);
        Assert.Null(limits.DefaultFuel);
        foreach (long bad in new[] { 0L, -1L, SandboxLimits.AbsoluteMaxFuel + 1 })
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => limits.MaxFuel = bad);
            Assert.Throws<ArgumentOutOfRangeException>(() => limits.DefaultFuel = bad);
        }
        limits.DefaultFuel = 5_000;
        limits.DefaultFuel = null;
        Assert.Null(limits.DefaultFuel);
        var options = new SandboxOptions { Limits = new SandboxLimits { MaxFuel = 1_000, DefaultFuel = 1_001 } };
        Assert.Equal(["Limits.DefaultFuel (1001) is above Limits.MaxFuel (1000)."], options.Validate());
    }

    [Fact]
    public async Task ChangingOptionsAfterConstructionChangesNothing()
    {
        var options = new SandboxOptions { SpareWorkers = 0 };
        var limits = options.Limits;
        var sandbox = new Sandbox(options);
        limits.MaxTimeoutMs = 1;
        Assert.Equal(60_000, sandbox.Limits.MaxTimeoutMs);
        await sandbox.DisposeAsync();
    }
}
