using System.Text;

namespace Warden.Tests.Limits;

/// <summary>Every byte a script sends back is bounded: console, result, error text; and what it may send in: code, input.</summary>
[Collection("sandbox")]
public sealed class OutputLimitTests(SandboxFixture fx)
{
    [Fact]
    public async Task ConsoleFloodStopsAtTheByteLimit()
    {
        var limits = fx.Sandbox.Limits;
        var outcome = await fx.RunAsync("for (;;) console.log('flood '.repeat(100))");
        OutcomeAssert.Status(OutcomeStatus.OutputLimit, outcome);
        Assert.Equal(LimitKind.Console, outcome.Error!.Limit);
        long bytes = outcome.Console.Sum(e => (long)Encoding.UTF8.GetByteCount(e.Text));
        Assert.InRange(bytes, limits.MaxConsoleBytes - 1000, limits.MaxConsoleBytes);
        await fx.AssertHealthyAsync();
    }

    [Fact]
    public async Task EmptyEntriesStopAtTheEntryLimit()
    {
        var outcome = await fx.RunAsync("for (;;) console.log()");
        OutcomeAssert.Status(OutcomeStatus.OutputLimit, outcome);
        Assert.Equal(fx.Sandbox.Limits.MaxConsoleEntries, outcome.Console.Count);
    }

    [Fact]
    public async Task OneHugeEntryIsRefusedWithoutCopyingIt()
    {
        var outcome = await fx.RunAsync("console.log('small'); console.log('z'.repeat(64 << 20))", memoryMb: 512);
        OutcomeAssert.Status(OutcomeStatus.OutputLimit, outcome);
        Assert.Equal([new ConsoleEntry("log", "small")], outcome.Console);
    }

    [Fact]
    public async Task HugeObjectsAreRenderedOnlyUpToTheLimit()
    {
        var outcome = await fx.RunAsync("const big = Array.from({ length: 1e5 }, (_, i) => ({ i, s: 'x'.repeat(100) })); for (;;) console.log(big)", timeoutMs: 20_000);
        OutcomeAssert.Status(OutcomeStatus.OutputLimit, outcome);
    }

    [Fact]
    public async Task LargeResultsAreOutputLimit()
    {
        var outcome = await fx.RunAsync("'r'.repeat(4 << 20)");
        OutcomeAssert.Status(OutcomeStatus.OutputLimit, outcome);
        Assert.Equal(LimitKind.Result, outcome.Error!.Limit);

        var nested = await fx.RunAsync("Array.from({ length: 1e6 }, (_, i) => ({ i }))");
        OutcomeAssert.Status(OutcomeStatus.OutputLimit, nested);

        // Multi-byte characters count as UTF-8 bytes.
        var wide = await fx.RunAsync("'€'.repeat(400_000)");
        OutcomeAssert.Status(OutcomeStatus.OutputLimit, wide);
        await fx.AssertHealthyAsync();
    }

    [Fact]
    public async Task ManySmallMembersAreMeasuredByWhatTheyReallyTake()
    {
        // 600,001 bytes of JSON: the early size estimate must not overcount array indices.
        var outcome = await fx.RunAsync("new Array(300000).fill(1)");
        OutcomeAssert.Status(OutcomeStatus.Ok, outcome);
        Assert.Equal(600_001, outcome.ResultJson!.Length);
    }

    [Fact]
    public async Task AResultOfExactlyTheLimitPasses()
    {
        int max = fx.Sandbox.Limits.MaxResultBytes;
        var outcome = await fx.RunAsync($"'r'.repeat({max - 2})");
        OutcomeAssert.Status(OutcomeStatus.Ok, outcome);
        Assert.Equal(max, outcome.ResultJson!.Length);
        OutcomeAssert.Status(OutcomeStatus.OutputLimit, await fx.RunAsync($"'r'.repeat({max - 1})"));
        OutcomeAssert.Ok("{}", await fx.RunAsync("const o = {}; for (let i = 0; i < 200000; i++) o['k' + i] = undefined; o"));
    }

    [Fact]
    public async Task ResultsJustUnderTheLimitPass()
    {
        var outcome = await fx.RunAsync("'r'.repeat(1_000_000)");
        OutcomeAssert.Status(OutcomeStatus.Ok, outcome);
        Assert.Equal(1_000_002, outcome.ResultJson!.Length);
    }

    [Fact]
    public async Task ErrorTextIsTruncatedNotAStatus()
    {
        var outcome = await fx.RunAsync("throw new Error('m'.repeat(1 << 20))");
        OutcomeAssert.Status(OutcomeStatus.ScriptError, outcome);
        Assert.InRange(Encoding.UTF8.GetByteCount(outcome.Error!.Message), 1000, fx.Sandbox.Limits.MaxErrorTextBytes);
    }

    [Fact]
    public async Task OversizedCodeAndInputAreInvalidRequests()
    {
        var limits = fx.Sandbox.Limits;
        var code = await fx.Sandbox.RunAsync(new Submission { Code = "//" + new string('c', limits.MaxCodeBytes) });
        OutcomeAssert.Status(OutcomeStatus.InvalidRequest, code);
        Assert.Contains("code is", code.Error!.Message);

        var input = await fx.Sandbox.RunAsync(new Submission { Code = "1", InputJson = "\"" + new string('i', limits.MaxInputBytes) + "\"" });
        OutcomeAssert.Status(OutcomeStatus.InvalidRequest, input);
        Assert.Contains("input is", input.Error!.Message);
    }

    [Theory]
    [InlineData("{bad")]
    [InlineData("1 2")]
    [InlineData("")]
    [InlineData("[1,]")]
    [InlineData("// comment\n1")]
    [InlineData("NaN")]
    public async Task MalformedInputIsAnInvalidRequest(string input)
    {
        var outcome = await fx.Sandbox.RunAsync(new Submission { Code = "1", InputJson = input });
        OutcomeAssert.Status(OutcomeStatus.InvalidRequest, outcome);
        Assert.Contains("input is not valid JSON", outcome.Error!.Message);
    }

    [Theory]
    [InlineData(0, null, null, "timeoutMs")]
    [InlineData(-5, null, null, "timeoutMs")]
    [InlineData(int.MaxValue, null, null, "timeoutMs")]
    [InlineData(null, 0, null, "cpuMs")]
    [InlineData(null, null, 1, "memoryMb")]
    [InlineData(null, null, 1_000_000, "memoryMb")]
    public async Task LimitsOutsideTheOperatorsBoundsAreInvalidRequests(int? timeout, int? cpu, int? memory, string field)
    {
        var outcome = await fx.RunAsync("1", timeoutMs: timeout, cpuMs: cpu, memoryMb: memory);
        OutcomeAssert.Status(OutcomeStatus.InvalidRequest, outcome);
        Assert.Contains(field, outcome.Error!.Message);
    }
}
