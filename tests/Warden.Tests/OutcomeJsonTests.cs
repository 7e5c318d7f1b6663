using System.Text.Json;

namespace Warden.Tests;

/// <summary>The outcome object of the contract as <see cref="OutcomeJson"/> writes it: <c>usage.fuel</c> only where an engine counted fuel.</summary>
public sealed class OutcomeJsonTests
{
    private static JsonElement Usage(Outcome outcome) => JsonDocument.Parse(outcome.ToJson()).RootElement.GetProperty("usage");

    [Fact]
    public void UsageHasNoFuelWhenTheEngineCountedNone()
    {
        var outcome = new Outcome { Status = OutcomeStatus.Ok, ResultJson = "1", Usage = new ResourceUsage(1.5, 0.25, 1024) };
        Assert.Equal(["wallMs", "cpuMs", "memoryBytes"], Usage(outcome).EnumerateObject().Select(p => p.Name));
        Assert.Equal("""{"status":"ok","result":1,"console":[],"error":null,"usage":{"wallMs":1.5,"cpuMs":0.25,"memoryBytes":1024},"engine":"v8"}""", outcome.ToJson());
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(2_799_000_627L)]
    [InlineData(SandboxLimits.AbsoluteMaxFuel)]
    public void UsageCarriesTheFuelUsedWhenPresent(long fuel)
    {
        var outcome = new Outcome { Status = OutcomeStatus.Ok, ResultJson = "1", Usage = new ResourceUsage(1, 1, 1, fuel), Engine = "quickjs" };
        var usage = Usage(outcome);
        Assert.Equal(["wallMs", "cpuMs", "memoryBytes", "fuel"], usage.EnumerateObject().Select(p => p.Name));
        Assert.Equal(fuel, usage.GetProperty("fuel").GetInt64());
    }

    [Fact]
    public void FuelRunningOutIsATimeoutWithTheLimitFuel()
    {
        var outcome = new Outcome
        {
            Status = OutcomeStatus.Timeout,
            Error = new ExecutionError("TimeoutError", "Fuel limit of 1000 units exceeded", "", LimitKind.Fuel),
            Usage = new ResourceUsage(2, 2, 4096, 1000),
            Engine = "quickjs",
        };
        var root = JsonDocument.Parse(outcome.ToJson()).RootElement;
        Assert.Equal("timeout", root.GetProperty("status").GetString());
        Assert.Equal("fuel", root.GetProperty("error").GetProperty("limit").GetString());
        Assert.Equal(1000, root.GetProperty("usage").GetProperty("fuel").GetInt64());
        Assert.Equal(2, OutcomeStatus.Timeout.ToExitCode());
        Assert.True(OutcomeCodes.TryParseLimit("fuel", out var parsed));
        Assert.Equal(LimitKind.Fuel, parsed);
    }

    [Fact]
    public void EveryLimitHasItsOwnWireWord()
    {
        var words = Enum.GetValues<LimitKind>().Select(l => l.ToWireString()).ToList();
        Assert.Equal(words.Count, words.Distinct().Count());
        Assert.Contains("fuel", words);
    }
}
