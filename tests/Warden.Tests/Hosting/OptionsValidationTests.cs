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
    [InlineData("spidermonkey", false, "DefaultEngine ('spidermonkey') must be an engine this sandbox offers: v8.")]
    [InlineData("test", false, "DefaultEngine ('test') must be an engine this sandbox offers: v8.")]
    [InlineData("V8", true, "DefaultEngine ('V8') must be an engine this sandbox offers: v8, test.")]
    [InlineData(null, false, "DefaultEngine ('') must be an engine this sandbox offers: v8.")]
    public void TheDefaultEngineMustBeOneTheSandboxOffers(string? engine, bool testEngine, string error)
    {
        var options = new SandboxOptions { DefaultEngine = engine!, EnableTestEngine = testEngine };
        var e = Assert.Throws<SandboxOptionsException>(() => new Sandbox(options));
        Assert.Equal([error], e.Errors);
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
